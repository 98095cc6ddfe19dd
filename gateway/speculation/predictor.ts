/**
 * Prediction from history, per tenant, in two graphs:
 *
 * - over tool ids (seeded from the audit's call sequences and updated by live executions),
 *   with how the next call's arguments are made (argument reuse: an argument equal to a value
 *   at a fixed path in the previous call's result, or the same constant every time). It
 *   predicts when a call returns ({@linkcode Predictor.predict});
 * - over exact calls (tool id and canonical arguments, live only): "`get {key: r1}` is
 *   followed by `get {key: r2}`", as a loop over constant keys does. Its next call does not
 *   depend on a result, so it predicts when a call starts, and follows the chain as far as the
 *   product of the confidences stays at or above `minConfidence` ({@linkcode Predictor.chain}).
 *
 * A prediction needs: a transition seen at least {@linkcode MIN_SUPPORT} times; its share of
 * the calls that followed the same tool at or above `minConfidence`; and an argument template
 * that held for the last {@linkcode MIN_TEMPLATE_RUNS} observations in a row. Argument
 * templates are learned only from live executions (the audit keeps no arguments and no
 * results). Values seen by the code (placeholders, not personal data) are what is compared
 * and kept; a kept constant is at most {@linkcode MAX_CONST_CHARS} characters of JSON.
 *
 * Precision is tracked per tenant over the last {@linkcode PRECISION_WINDOW} predicted
 * prefetches; when at least {@linkcode MIN_JUDGED} of them are judged and fewer than
 * {@linkcode MIN_PRECISION} were used, prediction turns itself off for that tenant for
 * {@linkcode OFF_MS} (then starts again with a clean window).
 *
 * Whose arguments: the tool-id graph (counts only, no arguments) is per tenant. Everything that
 * holds argument values (argument templates with their constants, the exact-call graph) is kept
 * per tenant *and API key* (`key`; `""` without auth) and is never used for another key, so one
 * key's calls are never predicted, and never revealed through `prefetched`, in another key's
 * executions. Arguments that hold a PII placeholder or anything the PII detectors flag are
 * never learned (see `personal.ts`), and what is learned is forgotten after
 * {@linkcode ARGS_TTL_MS} without being seen again.
 *
 * Bounds per tenant: {@linkcode MAX_SOURCES} source tools, {@linkcode MAX_KEYS} keys; per key
 * {@linkcode MAX_SOURCES} source calls and {@linkcode MAX_TEMPLATES} templates (the least
 * recently seen are evicted), {@linkcode MAX_TARGETS} next tools or calls each (the least seen
 * are evicted); a call is tracked only when its canonical JSON is at most
 * {@linkcode MAX_CONST_CHARS} characters; searching a result for an argument visits at most
 * {@linkcode MAX_SEARCH_NODES} values.
 *
 * @module
 */

import { canonicalJson } from "./canonical.ts";
import { carriesPersonalData } from "./personal.ts";

/** Times a transition must have been seen before it predicts. */
export const MIN_SUPPORT = 3;
/** Observations in a row an argument template must have held. */
export const MIN_TEMPLATE_RUNS = 2;
/** Source tools remembered per tenant. */
export const MAX_SOURCES = 256;
/** Next tools remembered per source tool. */
export const MAX_TARGETS = 8;
/** Values visited when looking for an argument in a result. */
export const MAX_SEARCH_NODES = 5000;
/** Longest constant argument kept, in UTF-16 units of its JSON text. */
export const MAX_CONST_CHARS = 1024;
/** Predicted prefetches the precision is computed over. */
export const PRECISION_WINDOW = 50;
/** Judged predictions needed before prediction may turn itself off. */
export const MIN_JUDGED = 20;
/** Below this precision (used / made) prediction turns off. */
export const MIN_PRECISION = 0.3;
/** How long prediction stays off, in ms. */
export const OFF_MS = 10 * 60 * 1000;
/** API keys of one tenant with argument memory (least recently seen evicted). */
export const MAX_KEYS = 64;
/** Argument templates remembered per key. */
export const MAX_TEMPLATES = 1024;
/** How long argument memory (templates, exact calls) lasts without being seen, in ms. */
export const ARGS_TTL_MS = 60 * 60 * 1000;
/** Most arguments of a call a template describes. */
const MAX_TEMPLATE_KEYS = 16;

type Path = Array<string | number>;
type ArgRule = { path: Path } | { json: string };
type Template = Record<string, ArgRule>;

interface Transition {
  count: number;
}

/** How the arguments of `to` were made from the result of `from`, for one key. */
interface TemplateState {
  template?: Template;
  runs: number;
  seen: number;
}

interface Source {
  total: number;
  next: Map<string, Transition>;
}

/** Next exact calls of one exact call. */
interface CallSource {
  total: number;
  next: Map<string, number>; // signature → count
  seen: number;
}

/** What one API key's executions taught: everything that holds argument values. */
interface KeyModel {
  templates: Map<string, TemplateState>; // `from\0to`; least recently seen first
  calls: Map<string, CallSource>; // signature → next calls; least recently seen first
  seen: number;
}

interface TenantModel {
  sources: Map<string, Source>; // insertion order = least recently used first
  keys: Map<string, KeyModel>; // least recently seen first
  window: boolean[];
  offUntil: number;
  made: number;
  used: number;
  turnedOff: number;
}

/** A call as the predictor sees it: tool id, arguments and result as the code saw them. */
export interface ObservedCall {
  tool: string;
  args: Record<string, unknown>;
  value?: unknown;
}

/** A predicted next call. */
export interface Prediction {
  tool: string;
  args: Record<string, unknown>;
  confidence: number;
}

/** Per-tenant figures for metrics. */
export interface PredictorStats {
  tenant: string;
  /** Predicted prefetches made (ever). */
  made: number;
  /** Predicted prefetches the code used (ever). */
  used: number;
  /** used / made over the current window (NaN before any). */
  precision: number;
  /** Whether prediction is on now. */
  enabled: boolean;
  /** Times it turned itself off. */
  turnedOff: number;
}

/** The transition graphs of every tenant. */
export class Predictor {
  #tenants = new Map<string, TenantModel>();
  readonly #now: () => number;

  constructor(now = () => Date.now()) {
    this.#now = now;
  }

  /** Counts the transition `from → to` (tool ids) without arguments (audit history). */
  count(tenant: string, from: string, to: string): void {
    this.#transition(this.#model(tenant), from, to);
  }

  /**
   * Learns from one step of a live execution: `previous` was followed by `next` (whose
   * arguments are checked against the template learned so far, or make a new one).
   */
  observe(tenant: string, previous: ObservedCall, next: ObservedCall, key = ""): void {
    const model = this.#model(tenant);
    this.#transition(model, previous.tool, next.tool);
    const keyModel = this.#keyModel(model, key);
    const id = `${previous.tool}\0${next.tool}`;
    let t = keyModel.templates.get(id);
    if (t) keyModel.templates.delete(id);
    t ??= { runs: 0, seen: 0 };
    t.seen = this.#now();
    keyModel.templates.set(id, t); // most recently seen last
    if (keyModel.templates.size > MAX_TEMPLATES) {
      keyModel.templates.delete(keyModel.templates.keys().next().value!);
    }
    if (t.template && sameArgs(apply(t.template, previous.value), next.args)) {
      t.runs++;
      return;
    }
    t.template = learn(previous.value, next.args);
    t.runs = t.template ? 1 : 0;
  }

  /** Learns, for `key`, that the exact call `previous` was followed by the exact call `next`. */
  observeCall(tenant: string, previous: ObservedCall, next: ObservedCall, key = ""): void {
    const from = signature(previous);
    const to = signature(next);
    if (from === undefined || to === undefined) return;
    const model = this.#keyModel(this.#model(tenant), key);
    let source = model.calls.get(from);
    if (source) model.calls.delete(from);
    else source = { total: 0, next: new Map(), seen: 0 };
    source.seen = this.#now();
    model.calls.set(from, source);
    if (model.calls.size > MAX_SOURCES) model.calls.delete(model.calls.keys().next().value!);
    source.total++;
    if (!source.next.has(to) && source.next.size >= MAX_TARGETS) {
      let least: string | undefined;
      for (const [sig, count] of source.next) {
        if (least === undefined || count < source.next.get(least)!) least = sig;
      }
      source.next.delete(least!);
    }
    source.next.set(to, (source.next.get(to) ?? 0) + 1);
  }

  /**
   * The exact calls predicted to follow `call`, in order: each step takes the most frequent
   * next call, while the product of the confidences stays at or above `minConfidence`, for at
   * most `max` steps, never visiting a call twice (none while off).
   */
  chain(
    tenant: string,
    call: ObservedCall,
    minConfidence: number,
    max: number,
    key = "",
  ): Prediction[] {
    const tenantModel = this.#tenants.get(tenant);
    if (!tenantModel || !this.enabled(tenant)) return [];
    const model = this.#freshKey(tenantModel, key);
    if (!model) return [];
    const out: Prediction[] = [];
    let at = signature(call);
    const seen = new Set<string>();
    let confidence = 1;
    while (at !== undefined && out.length < max && !seen.has(at)) {
      seen.add(at);
      const source = model.calls.get(at);
      if (!source || source.seen + ARGS_TTL_MS <= this.#now()) break;
      let best: string | undefined;
      let bestCount = 0;
      for (const [sig, count] of source.next) {
        if (count > bestCount) [best, bestCount] = [sig, count];
      }
      if (best === undefined || bestCount < MIN_SUPPORT) break;
      confidence *= bestCount / source.total;
      if (confidence < minConfidence || seen.has(best)) break;
      const [tool, args] = JSON.parse(best) as [string, Record<string, unknown>];
      out.push({ tool, args, confidence });
      at = best;
    }
    return out;
  }

  /** The calls predicted to follow `call`, most confident first (none while off). */
  predict(tenant: string, call: ObservedCall, minConfidence: number, key = ""): Prediction[] {
    const model = this.#tenants.get(tenant);
    if (!model || !this.enabled(tenant)) return [];
    const source = model.sources.get(call.tool);
    const keyModel = this.#freshKey(model, key);
    if (!source || !keyModel) return [];
    const out: Prediction[] = [];
    const now = this.#now();
    for (const [tool, t] of source.next) {
      const confidence = t.count / source.total;
      if (t.count < MIN_SUPPORT || confidence < minConfidence) continue;
      const state = keyModel.templates.get(`${call.tool}\0${tool}`);
      if (!state?.template || state.runs < MIN_TEMPLATE_RUNS) continue;
      if (state.seen + ARGS_TTL_MS <= now) continue;
      const args = apply(state.template, call.value);
      // Values taken from this execution's own result may still be placeholders.
      if (args && !carriesPersonalData(canonicalJson(args) ?? "[")) {
        out.push({ tool, args, confidence });
      }
    }
    return out.sort((a, b) => b.confidence - a.confidence);
  }

  /** Records whether a predicted prefetch was used; may turn prediction off. */
  judge(tenant: string, used: boolean): void {
    const model = this.#model(tenant);
    model.made++;
    if (used) model.used++;
    model.window.push(used);
    if (model.window.length > PRECISION_WINDOW) model.window.shift();
    const hits = model.window.filter(Boolean).length;
    if (model.window.length >= MIN_JUDGED && hits / model.window.length < MIN_PRECISION) {
      model.offUntil = this.#now() + OFF_MS;
      model.window = [];
      model.turnedOff++;
    }
  }

  /** Whether prediction is on for `tenant`. */
  enabled(tenant: string): boolean {
    const model = this.#tenants.get(tenant);
    return !model || model.offUntil <= this.#now();
  }

  /** Per-tenant figures. */
  stats(): PredictorStats[] {
    return [...this.#tenants].map(([tenant, m]) => ({
      tenant,
      made: m.made,
      used: m.used,
      precision: m.window.length === 0 ? NaN : m.window.filter(Boolean).length / m.window.length,
      enabled: m.offUntil <= this.#now(),
      turnedOff: m.turnedOff,
    }));
  }

  #model(tenant: string): TenantModel {
    let model = this.#tenants.get(tenant);
    if (!model) {
      model = {
        sources: new Map(),
        keys: new Map(),
        window: [],
        offUntil: 0,
        made: 0,
        used: 0,
        turnedOff: 0,
      };
      this.#tenants.set(tenant, model);
    }
    return model;
  }

  /** The argument memory of `key` (created, most recently seen), dropping aged keys. */
  #keyModel(model: TenantModel, key: string): KeyModel {
    const now = this.#now();
    this.#dropAged(model, now);
    let keyModel = model.keys.get(key);
    if (keyModel) model.keys.delete(key);
    keyModel ??= { templates: new Map(), calls: new Map(), seen: 0 };
    keyModel.seen = now;
    model.keys.set(key, keyModel);
    if (model.keys.size > MAX_KEYS) model.keys.delete(model.keys.keys().next().value!);
    return keyModel;
  }

  /** The argument memory of `key` when it was seen within {@linkcode ARGS_TTL_MS}. */
  #freshKey(model: TenantModel, key: string): KeyModel | undefined {
    this.#dropAged(model, this.#now());
    return model.keys.get(key);
  }

  /** Forgets keys not seen for {@linkcode ARGS_TTL_MS} (oldest first: stops at a fresh one). */
  #dropAged(model: TenantModel, now: number): void {
    for (const [key, keyModel] of model.keys) {
      if (keyModel.seen + ARGS_TTL_MS > now) break;
      model.keys.delete(key);
    }
  }

  #transition(model: TenantModel, from: string, to: string): Transition {
    let source = model.sources.get(from);
    if (source) model.sources.delete(from);
    else source = { total: 0, next: new Map() };
    model.sources.set(from, source); // most recently used last
    if (model.sources.size > MAX_SOURCES) {
      model.sources.delete(model.sources.keys().next().value!);
    }
    source.total++;
    let t = source.next.get(to);
    if (!t) {
      if (source.next.size >= MAX_TARGETS) {
        // The least seen next tool makes room; the total keeps counting it, so the
        // confidence of the others stays honest.
        let least: string | undefined;
        for (const [id, other] of source.next) {
          if (least === undefined || other.count < source.next.get(least)!.count) least = id;
        }
        source.next.delete(least!);
      }
      t = { count: 0 };
      source.next.set(to, t);
    }
    t.count++;
    return t;
  }
}

/** The exact call as one string (`[tool, args]`, canonical), or undefined when too long. */
function signature(call: ObservedCall): string | undefined {
  const args = canonicalJson(call.args, MAX_CONST_CHARS);
  if (args === undefined) return undefined;
  // Never remembered: another session would fill the placeholder from its own vault.
  if (carriesPersonalData(args)) return undefined;
  return `[${JSON.stringify(call.tool)},${args}]`;
}

/** A template for `args` given the previous result `value`, or undefined when none fits. */
function learn(value: unknown, args: Record<string, unknown>): Template | undefined {
  const keys = Object.keys(args);
  if (keys.length > MAX_TEMPLATE_KEYS) return undefined;
  const template: Template = {};
  for (const key of keys) {
    const arg = args[key];
    const path = (typeof arg === "string" && arg.length > 0) || typeof arg === "number"
      ? findPath(value, arg)
      : undefined;
    if (path) {
      template[key] = { path };
      continue;
    }
    const json = canonicalJson(arg, MAX_CONST_CHARS);
    if (json === undefined) return undefined;
    // A constant is replayed in later executions: never personal data or a placeholder.
    if (carriesPersonalData(json)) return undefined;
    template[key] = { json };
  }
  return template;
}

/** The arguments a template makes from `value`, or undefined when a path is missing. */
function apply(template: Template, value: unknown): Record<string, unknown> | undefined {
  const args: Record<string, unknown> = {};
  for (const [key, rule] of Object.entries(template)) {
    if ("json" in rule) {
      args[key] = JSON.parse(rule.json);
      continue;
    }
    let at: unknown = value;
    for (const step of rule.path) {
      if (typeof at !== "object" || at === null) return undefined;
      at = (at as Record<string | number, unknown>)[step];
    }
    if (typeof at !== "string" && typeof at !== "number") return undefined;
    args[key] = at;
  }
  return args;
}

function sameArgs(a: Record<string, unknown> | undefined, b: Record<string, unknown>): boolean {
  return a !== undefined && canonicalJson(a) === canonicalJson(b);
}

/** The first path (breadth first) in `value` to a string or number equal to `target`. */
function findPath(value: unknown, target: string | number): Path | undefined {
  const queue: Array<{ at: unknown; path: Path }> = [{ at: value, path: [] }];
  let visited = 0;
  for (let i = 0; i < queue.length; i++) {
    if (++visited > MAX_SEARCH_NODES) return undefined;
    const { at, path } = queue[i];
    if (at === target) return path;
    if (typeof at !== "object" || at === null || path.length >= 8) continue;
    if (Array.isArray(at)) {
      for (let j = 0; j < at.length && queue.length < MAX_SEARCH_NODES; j++) {
        queue.push({ at: at[j], path: [...path, j] });
      }
    } else {
      for (const key of Object.keys(at)) {
        if (queue.length >= MAX_SEARCH_NODES) break;
        queue.push({ at: (at as Record<string, unknown>)[key], path: [...path, key] });
      }
    }
  }
  return undefined;
}
