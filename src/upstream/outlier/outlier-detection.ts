// Passive health of one cluster: every attempt's outcome goes to both rules (consecutive
// failures, success rate), which eject through one Ejector so that the cap on ejected
// replicas and the growing ejection time hold whichever rule fired.
import type { ReplicaState } from '../replica.js';
import type { FailureKind, OutlierDetector, OutlierSettings } from '../types.js';
import { ConsecutiveFailureDetector } from './consecutive-failures.js';
import { type EjectionListener, Ejector } from './ejector.js';
import { SuccessRateDetector } from './success-rate.js';

export class OutlierDetection implements OutlierDetector {
  #settings: OutlierSettings;
  readonly #consecutive: ConsecutiveFailureDetector;
  readonly #successRate: SuccessRateDetector;

  constructor(settings: OutlierSettings, replicas: () => readonly ReplicaState[], onEject: EjectionListener) {
    this.#settings = settings;
    const current = () => this.#settings;
    const ejector = new Ejector(current, replicas, onEject);
    this.#consecutive = new ConsecutiveFailureDetector(current, ejector);
    this.#successRate = new SuccessRateDetector(current, replicas, ejector);
  }

  configure(settings: OutlierSettings): void {
    this.#settings = settings;
  }

  success(replica: ReplicaState, now: number): void {
    this.#consecutive.success(replica);
    this.#successRate.success(replica, now);
  }

  failure(replica: ReplicaState, _kind: FailureKind, now: number): void {
    this.#consecutive.failure(replica, now);
    this.#successRate.failure(replica, now);
  }
}
