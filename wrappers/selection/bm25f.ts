/**
 * Field-weighted BM25 (BM25F) over a fixed set of documents, precomputed: each document has
 * several fields (a tool's name, description, parameter names, server), each field's term
 * frequency is normalised by that field's length against the field's average and weighted,
 * and the weighted sum goes through BM25's saturation once. Everything but the query is
 * computed when the index is built; a query walks the postings of its terms only.
 *
 * Robertson, Zaragoza, Taylor, "Simple BM25 extension to multiple weighted fields" (2004).
 *
 * @module
 */

/** Saturation of the weighted term frequency (the common BM25 default). */
const K1 = 1.2;

/** One field's weight and length normalisation. */
export interface FieldSpec {
  /** How much a match in this field counts against one in a weight-1 field. */
  weight: number;
  /** Length normalisation in [0, 1] (0: none; BM25's usual 0.75). */
  b: number;
}

/** BM25F over documents made of `fields.length` term lists each. */
export class Bm25fIndex {
  /** term → [doc, weighted normalised tf] pairs, doc ascending. */
  #postings = new Map<string, { docs: Int32Array; tf: Float32Array }>();
  #count: number;

  /**
   * @param docs per document, one term list per field (in the order of `fields`)
   * @param fields the weight and normalisation of each field
   */
  constructor(docs: string[][][], fields: FieldSpec[]) {
    this.#count = docs.length;
    const avg = fields.map((_, f) =>
      docs.length === 0 ? 0 : docs.reduce((s, d) => s + (d[f]?.length ?? 0), 0) / docs.length
    );
    const lists = new Map<string, Array<[number, number]>>();
    docs.forEach((doc, i) => {
      const weighted = new Map<string, number>();
      fields.forEach((field, f) => {
        const terms = doc[f] ?? [];
        if (terms.length === 0 || field.weight === 0) return;
        const norm = avg[f] > 0 ? 1 - field.b + field.b * terms.length / avg[f] : 1;
        const tf = new Map<string, number>();
        for (const t of terms) tf.set(t, (tf.get(t) ?? 0) + 1);
        for (const [t, n] of tf) weighted.set(t, (weighted.get(t) ?? 0) + field.weight * n / norm);
      });
      for (const [t, w] of weighted) {
        let list = lists.get(t);
        if (!list) lists.set(t, list = []);
        list.push([i, w]);
      }
    });
    for (const [t, list] of lists) {
      this.#postings.set(t, {
        docs: Int32Array.from(list, ([d]) => d),
        tf: Float32Array.from(list, ([, w]) => w),
      });
    }
  }

  /** Documents in the index. */
  get size(): number {
    return this.#count;
  }

  /**
   * Adds the BM25F score of every document for the query terms into `out` (length
   * {@link size}); a repeated query term counts once. Returns the largest score.
   */
  scoreInto(queryTerms: readonly string[], out: Float64Array): number {
    let max = 0;
    for (const term of new Set(queryTerms)) {
      const posting = this.#postings.get(term);
      if (!posting) continue;
      const n = posting.docs.length;
      const idf = Math.log(1 + (this.#count - n + 0.5) / (n + 0.5));
      for (let j = 0; j < n; j++) {
        const tf = posting.tf[j];
        const doc = posting.docs[j];
        out[doc] += idf * tf * (K1 + 1) / (tf + K1);
        if (out[doc] > max) max = out[doc];
      }
    }
    return max;
  }
}
