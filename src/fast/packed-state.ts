/**
 * A learner state kept as flat float32 arrays (parameters and Adam's moments) for the fast paths. Its tensors are
 * made on first access and owned by the state, so a training loop that never reads them makes none.
 */
import type { Params } from "../core/params";
import { disposeParams } from "../core/params";
import { disposeAdam, type AdamState, type FlatAdamState } from "../optim/adam";
import { pack, subLayout, unpack, type Layout } from "./pack";
import type { ShapeRecord } from "./eligibility";

/** Parameters (and optionally Adam over some of them) as flat arrays, with lazily made tensors. */
export class PackedState {
  private cache: { params?: Params; adam?: AdamState } = {};

  constructor(
    /** Parameters in `layout` order. */
    readonly theta: Float32Array,
    readonly layout: Layout,
    /** Adam's moments over the whole vector (zero where `adamNames` leaves a parameter out), or null without Adam. */
    readonly flatAdam: FlatAdamState | null,
    /** Names Adam's tensor form covers (all by default). */
    readonly adamNames: readonly string[] | null,
    readonly step: number,
  ) {}

  /** Packs tensor parameters (and Adam's tensor state over `adamNames`). */
  static fromTensors(params: Params, layout: Layout, adam: AdamState | null, adamNames: readonly string[] | null, step: number): PackedState {
    const theta = pack(params, layout);
    if (!adam) return new PackedState(theta, layout, null, null, step);
    const sub = subLayout(layout, adamNames ?? layout.names);
    const m = new Float32Array(layout.size);
    const v = new Float32Array(layout.size);
    pack(adam.m, sub, m);
    pack(adam.v, sub, v);
    return new PackedState(theta, layout, { step: adam.step, m, v }, adamNames, step);
  }

  /** The parameters as tensors (made once, owned by this state). */
  get params(): Params {
    this.cache.params ??= unpack(this.theta, this.layout);
    return this.cache.params;
  }

  /** Adam's state as tensors over `adamNames` (made once, owned by this state). */
  get adam(): AdamState {
    if (!this.flatAdam) throw new Error("This packed state has no Adam moments.");
    if (!this.cache.adam) {
      const sub = subLayout(this.layout, this.adamNames ?? this.layout.names);
      this.cache.adam = { step: this.flatAdam.step, m: unpack(this.flatAdam.m, sub), v: unpack(this.flatAdam.v, sub) };
    }
    return this.cache.adam;
  }

  /** Shapes of the parameters, for the eligibility check, without making tensors. */
  get shapes(): ShapeRecord {
    return shapesOf(this.layout);
  }

  /** Disposes the tensors made so far. */
  dispose(): void {
    if (this.cache.params) disposeParams(this.cache.params);
    if (this.cache.adam) disposeAdam(this.cache.adam);
    this.cache = {};
  }
}

/** The shapes of a layout's entries, as the eligibility check reads them. */
export function shapesOf(layout: Layout): ShapeRecord {
  return Object.fromEntries(layout.names.map((k, i) => [k, { shape: layout.shapes[i]!, rank: layout.shapes[i]!.length, dtype: "float32" }]));
}

/** Packs a learner's initial tensor state (disposing it) when `ok`; else returns it unchanged. */
export function packIfEligible<S extends { readonly params: Params; readonly step: number }>(state: S, ok: { readonly ok: boolean; readonly config?: unknown }, layout: () => Layout, adam: ((s: S) => AdamState) | null, adamNames: readonly string[] | null, dispose: (s: S) => void): S | PackedState {
  if (!ok.ok) return state;
  const packed = PackedState.fromTensors(state.params, layout(), adam ? adam(state) : null, adamNames, state.step);
  dispose(state);
  return packed;
}
