/** The one input every scenario and baseline sends: two iris flowers, 4 features each. */
export const IRIS_INPUT = [6.8, 2.8, 4.8, 1.4, 6.0, 3.4, 4.5, 1.6] as const;
export const IRIS_INPUT_SHAPE = [2, 4] as const;
export const IRIS_INPUT_NAME = "input";
export const IRIS_OUTPUT_NAME = "probabilities";
export const IRIS_CLASSES = 3;
