/**
 * The flowers run.ts asks about: the 23 of the iris data set's 150 on which model-a (sepals) names the wrong species
 * and model-b (petals) the right one. `row` is the flower's 1-based row in the data set (UCI / scikit-learn order).
 */
export interface Flower {
  row: number;
  /** sepal length, sepal width, petal length, petal width (cm) */
  measurements: [number, number, number, number];
  species: "setosa" | "versicolor" | "virginica";
}

export const FLOWERS: Flower[] = [
  { row: 51, measurements: [7.0, 3.2, 4.7, 1.4], species: "versicolor" },
  { row: 52, measurements: [6.4, 3.2, 4.5, 1.5], species: "versicolor" },
  { row: 53, measurements: [6.9, 3.1, 4.9, 1.5], species: "versicolor" },
  { row: 55, measurements: [6.5, 2.8, 4.6, 1.5], species: "versicolor" },
  { row: 57, measurements: [6.3, 3.3, 4.7, 1.6], species: "versicolor" },
  { row: 58, measurements: [4.9, 2.4, 3.3, 1.0], species: "versicolor" },
  { row: 59, measurements: [6.6, 2.9, 4.6, 1.3], species: "versicolor" },
  { row: 66, measurements: [6.7, 3.1, 4.4, 1.4], species: "versicolor" },
  { row: 75, measurements: [6.4, 2.9, 4.3, 1.3], species: "versicolor" },
  { row: 76, measurements: [6.6, 3.0, 4.4, 1.4], species: "versicolor" },
  { row: 77, measurements: [6.8, 2.8, 4.8, 1.4], species: "versicolor" },
  { row: 85, measurements: [5.4, 3.0, 4.5, 1.5], species: "versicolor" },
  { row: 87, measurements: [6.7, 3.1, 4.7, 1.5], species: "versicolor" },
  { row: 102, measurements: [5.8, 2.7, 5.1, 1.9], species: "virginica" },
  { row: 114, measurements: [5.7, 2.5, 5.0, 2.0], species: "virginica" },
  { row: 115, measurements: [5.8, 2.8, 5.1, 2.4], species: "virginica" },
  { row: 122, measurements: [5.6, 2.8, 4.9, 2.0], species: "virginica" },
  { row: 124, measurements: [6.3, 2.7, 4.9, 1.8], species: "virginica" },
  { row: 128, measurements: [6.1, 3.0, 4.9, 1.8], species: "virginica" },
  { row: 135, measurements: [6.1, 2.6, 5.6, 1.4], species: "virginica" },
  { row: 143, measurements: [5.8, 2.7, 5.1, 1.9], species: "virginica" },
  { row: 147, measurements: [6.3, 2.5, 5.0, 1.9], species: "virginica" },
  { row: 150, measurements: [5.9, 3.0, 5.1, 1.8], species: "virginica" },
];
