// Money and energy per token at an operating point. GPU time is split between input and output
// tokens by the time each phase takes (prefill work added to the steps that carry it vs the rest),
// so $/Mtok input and $/Mtok output add up to the cost of the deployment.
import type { Deployment } from '../deployment.ts';
import type { OperatingPoint } from '../serving-model.ts';
import { devicePower, type PowerModel } from './power.ts';

export interface Prices {
  /** USD per device-hour (default: the catalog's assumed price). */
  gpuHourUsd: number;
  /** USD per kWh of facility energy. */
  energyUsdPerKwh: number;
  /** Power usage effectiveness of the facility (>= 1). */
  pue: number;
}

export const DEFAULT_ENERGY_PRICE = 0.1;
export const DEFAULT_PUE = 1.2;

export interface Economics {
  devices: number;
  gpuUsdPerHour: number;
  energyUsdPerHour: number;
  wattsPerDevice: number;
  computeUtilisation: number;
  bandwidthUtilisation: number;
  /** Energy per output token at the device (J), and per token in or out. */
  joulesPerOutputToken: number;
  joulesPerToken: number;
  usdPerMtokInput: number;
  usdPerMtokOutput: number;
  /** All costs (devices + energy) per million output tokens: what a user of this workload pays. */
  usdPerMtokOutputAllIn: number;
  energyShare: number;
}

export function economicsAt(dep: Deployment, op: OperatingPoint, prices: Prices, replicas = 1, power?: PowerModel): Economics {
  const devices = dep.tp * replicas;
  const p = devicePower(dep.hardware, dep.weightDtype, op.flopsPerSecPerGpu, op.bytesPerSecPerGpu, power);
  const gpuUsdPerHour = devices * prices.gpuHourUsd;
  const energyUsdPerHour = ((devices * p.watts * prices.pue) / 1000) * prices.energyUsdPerKwh;
  const total = gpuUsdPerHour + energyUsdPerHour;
  const outPerHour = op.outputTokS * replicas * 3600;
  const inPerHour = op.inputTokS * replicas * 3600;
  const inputShare = op.prefillTimeFraction;
  return {
    devices,
    gpuUsdPerHour,
    energyUsdPerHour,
    wattsPerDevice: p.watts,
    computeUtilisation: p.computeUtilisation,
    bandwidthUtilisation: p.bandwidthUtilisation,
    joulesPerOutputToken: op.outputTokS > 0 ? (dep.tp * p.watts) / op.outputTokS : Infinity,
    joulesPerToken: op.outputTokS + op.inputTokS > 0 ? (dep.tp * p.watts) / (op.outputTokS + op.inputTokS) : Infinity,
    usdPerMtokInput: inPerHour > 0 ? ((total * inputShare) / inPerHour) * 1e6 : Infinity,
    usdPerMtokOutput: outPerHour > 0 ? ((total * (1 - inputShare)) / outPerHour) * 1e6 : Infinity,
    usdPerMtokOutputAllIn: outPerHour > 0 ? (total / outPerHour) * 1e6 : Infinity,
    energyShare: total > 0 ? energyUsdPerHour / total : 0,
  };
}
