import { arch, availableParallelism, cpus, platform, release, totalmem } from "node:os";

export interface MachineInfo {
  cpuModel: string;
  cores: number;
  availableParallelism: number;
  platform: string;
  osRelease: string;
  arch: string;
  totalMemGiB: number;
  node: string;
}

export function machineInfo(): MachineInfo {
  const list = cpus();
  return {
    cpuModel: list[0]?.model.trim() ?? "unknown",
    cores: list.length,
    availableParallelism: availableParallelism(),
    platform: platform(),
    osRelease: release(),
    arch: arch(),
    totalMemGiB: Math.round((totalmem() / 1024 ** 3) * 10) / 10,
    node: process.version,
  };
}

export function describeMachine(m: MachineInfo): string {
  return `${m.cpuModel}, ${m.cores} cores, ${m.totalMemGiB} GiB RAM, ${m.platform} ${m.osRelease} (${m.arch}), Node ${m.node}`;
}
