/**
 * A small in-memory BM25 index over term lists, with an inverted index so a query costs
 * time in the postings of its terms, not in the size of the catalogue.
 *
 * @module
 */

/** Okapi BM25 parameters (the common defaults). */
const K1 = 1.2;
const B = 0.75;

/** BM25 over a fixed set of documents (rebuild it when the documents change). */
export class Bm25Index {
  #postings = new Map<string, Array<[doc: number, tf: number]>>();
  #lengths: Float64Array;
  #avgLength: number;
  #count: number;

  /** Indexes `docs`, each a list of terms (repeats raise the term frequency). */
  constructor(docs: string[][]) {
    this.#count = docs.length;
    this.#lengths = new Float64Array(docs.length);
    let total = 0;
    docs.forEach((doc, i) => {
      this.#lengths[i] = doc.length;
      total += doc.length;
      const tf = new Map<string, number>();
      for (const t of doc) tf.set(t, (tf.get(t) ?? 0) + 1);
      for (const [t, n] of tf) {
        let list = this.#postings.get(t);
        if (!list) this.#postings.set(t, list = []);
        list.push([i, n]);
      }
    });
    this.#avgLength = docs.length > 0 ? total / docs.length : 0;
  }

  /** BM25 score of every document for the query terms (0 where no term matches). */
  scores(queryTerms: string[]): Float64Array {
    const out = new Float64Array(this.#count);
    for (const term of new Set(queryTerms)) {
      const list = this.#postings.get(term);
      if (!list) continue;
      const idf = Math.log(1 + (this.#count - list.length + 0.5) / (list.length + 0.5));
      for (const [doc, tf] of list) {
        const norm = K1 * (1 - B + B * this.#lengths[doc] / this.#avgLength);
        out[doc] += idf * tf * (K1 + 1) / (tf + norm);
      }
    }
    return out;
  }
}
