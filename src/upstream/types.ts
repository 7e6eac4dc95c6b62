// Roles of the upstream layer (STYLE.md "For Quilt" 2): a Cluster owns the replicas of one
// upstream and picks one per attempt through a LoadBalancer; protocol transports know how to
// talk to a replica and nothing about picking. Health checking and outlier detection plug
// in here with the pool work (issue 4).

export interface Replica {
  /** Stable identity inside its upstream: the url as declared. */
  readonly url: string;
  readonly weight: number;
  inFlight: number;
}

export interface PickContext {
  /** Replicas already tried by this call: a retry goes elsewhere. */
  exclude?: ReadonlySet<Replica>;
}

export interface LoadBalancer {
  pick(ctx: PickContext): Replica | undefined;
  update(replicas: readonly Replica[]): void;
}

/** How an attempt failed, as far as the retry rules need to know. */
export type FailureKind = 'connect' | 'timeout' | 'reset' | 'status';

/** Thrown by transports; the connector turns it into a client-facing QuiltError. */
export class TransportFailure extends Error {
  constructor(
    readonly kind: FailureKind,
    /** False when the request never reached the replica: safe to send elsewhere, even a write. */
    readonly reached: boolean,
    readonly replica: string,
    message: string,
    options?: { cause?: unknown },
  ) {
    super(message, options);
    this.name = 'TransportFailure';
  }
}
