/**
 * Machine description recorded with every benchmark run (absolute times drift on shared
 * machines, so the load average at start and end is part of the result).
 *
 * @packageDocumentation
 */
import { execFileSync } from 'node:child_process';
import * as os from 'node:os';
import * as tf from '@tensorflow/tfjs-core';
import * as tfl from '@tensorflow/tfjs-layers';
import { version_cpu } from '@tensorflow/tfjs-backend-cpu';
import { version_wasm } from '@tensorflow/tfjs-backend-wasm';

/** Static description of the machine and the software under test. */
export interface MachineInfo {
  date: string;
  hostname: string;
  cpuModel: string;
  logicalCores: number;
  totalMemGiB: number;
  platform: string;
  node: string;
  tfjsCore: string;
  tfjsLayers: string;
  tfjsBackendWasm: string;
  tfjsBackendCpu: string;
  /** `uptime` output when the run started. */
  uptimeStart: string;
  /** 1/5/15-minute load averages when the run started. */
  loadStart: number[];
  /** Filled at the end of the run. */
  uptimeEnd?: string;
  loadEnd?: number[];
}

/** Output of the `uptime` command (falls back to `os.loadavg()`). */
function uptime(): string {
  try {
    return execFileSync('uptime', { encoding: 'utf8', timeout: 2000 }).trim();
  } catch {
    return `load average: ${os.loadavg().map((x) => x.toFixed(2)).join(', ')}`;
  }
}

/** Load averages rounded to 2 decimals. */
function loadAverage(): number[] {
  return os.loadavg().map((x) => Math.round(x * 100) / 100);
}

/** Collects the machine description. */
export function machineInfo(): MachineInfo {
  const cpus = os.cpus();
  return {
    date: new Date().toISOString(),
    hostname: os.hostname(),
    cpuModel: cpus[0]?.model.trim() ?? 'unknown',
    logicalCores: cpus.length,
    totalMemGiB: Math.round((os.totalmem() / 2 ** 30) * 10) / 10,
    platform: `${os.type()} ${os.release()} ${os.arch()}`,
    node: process.version,
    tfjsCore: tf.version_core,
    tfjsLayers: tfl.version_layers,
    tfjsBackendWasm: version_wasm,
    tfjsBackendCpu: version_cpu,
    uptimeStart: uptime(),
    loadStart: loadAverage(),
  };
}

/** Marks the end of the run on `info`. */
export function finishMachineInfo(info: MachineInfo): void {
  info.uptimeEnd = uptime();
  info.loadEnd = loadAverage();
}
