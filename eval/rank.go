package eval

import "math"

// Ranking metrics on one ranked list with binary relevance.
//
// Conventions shared by RecallAtK, NDCGAtK, HitAtK and ReciprocalRank (and by
// Compute, which uses the same code):
//
//   - ranked is taken in the order given: ties in a CG's score are already
//     broken by its rank (Compute orders a CG's rows by Rank, then ad Pin id).
//   - Duplicates in ranked count once, at their first occurrence; a later
//     duplicate is dropped and takes no position, so "top K" means the first K
//     distinct ads. This is what a TREC run file (which cannot hold a
//     duplicate) of the same list measures, and ExportTREC writes it so.
//   - Duplicates in positives count once: total is the number of distinct
//     positives.
//   - K larger than the list is the whole list; K <= 0 is an empty cut.
//   - With no positives a list has no recall, NDCG, hit or reciprocal rank:
//     the functions report ok = false (RecallAtK returns total = 0) and
//     Compute leaves such a request out of the average.

// RecallAtK returns the number of distinct positives among the first k
// distinct ads of ranked (hits) and the number of distinct positives
// (total). Recall@K = hits / total; it is undefined when total == 0. hits
// never decreases as k grows.
func RecallAtK(ranked []int32, positives []int32, k int) (hits, total int) {
	pos, total := hitPositions(ranked, positives)
	for _, p := range pos {
		if p < k {
			hits++
		}
	}
	return hits, total
}

// NDCGAtK returns the normalised discounted cumulative gain of the first k
// distinct ads of ranked with binary gains (1 for a positive, 0 otherwise):
// DCG = sum over positive positions p < k (0-based) of 1/log2(p+2), divided by
// the DCG of an ideal list, sum over p < min(k, total) of 1/log2(p+2). This is
// trec_eval's ndcg_cut.k with relevance 1. ok is false when there are no
// positives.
func NDCGAtK(ranked []int32, positives []int32, k int) (ndcg float64, ok bool) {
	pos, total := hitPositions(ranked, positives)
	if total == 0 {
		return 0, false
	}
	return ndcgFromPositions(pos, total, k), true
}

// HitAtK reports whether any positive is among the first k distinct ads of
// ranked. ok is false when there are no positives.
func HitAtK(ranked []int32, positives []int32, k int) (hit, ok bool) {
	pos, total := hitPositions(ranked, positives)
	if total == 0 {
		return false, false
	}
	return len(pos) > 0 && pos[0] < k, true
}

// ReciprocalRank returns 1/(p+1) for the position p (0-based, among distinct
// ads) of the first positive in ranked, 0 when no positive is retrieved. ok is
// false when there are no positives. MRR is its mean over requests.
func ReciprocalRank(ranked []int32, positives []int32) (rr float64, ok bool) {
	pos, total := hitPositions(ranked, positives)
	if total == 0 {
		return 0, false
	}
	if len(pos) == 0 {
		return 0, true
	}
	return 1 / float64(pos[0]+1), true
}

// hitPositions returns the positions (0-based, among the distinct ads of
// ranked, increasing) at which a positive occurs, and the number of distinct
// positives.
func hitPositions(ranked, positives []int32) (pos []int, total int) {
	pset := make(map[int32]bool, len(positives))
	for _, p := range positives {
		pset[p] = true
	}
	seen := make(map[int32]bool, len(ranked))
	n := 0
	for _, a := range ranked {
		if seen[a] {
			continue
		}
		seen[a] = true
		if pset[a] {
			pos = append(pos, n)
		}
		n++
	}
	return pos, len(pset)
}

// discount[p] = 1/log2(p+2); idealDCG[n] = sum of discount[0..n).
var discount, idealDCG = discountTables(4096)

func discountTables(n int) (d, ideal []float64) {
	d = make([]float64, n)
	ideal = make([]float64, n+1)
	for p := range d {
		d[p] = 1 / math.Log2(float64(p)+2)
		ideal[p+1] = ideal[p] + d[p]
	}
	return d, ideal
}

func disc(p int) float64 {
	if p < len(discount) {
		return discount[p]
	}
	return 1 / math.Log2(float64(p)+2)
}

func ideal(n int) float64 {
	if n < len(idealDCG) {
		return idealDCG[n]
	}
	s := idealDCG[len(idealDCG)-1]
	for p := len(idealDCG) - 1; p < n; p++ {
		s += disc(p)
	}
	return s
}

// ndcgFromPositions computes NDCG@k from increasing hit positions and the
// number of distinct positives (> 0).
func ndcgFromPositions(pos []int, total, k int) float64 {
	if k <= 0 {
		return 0
	}
	var dcg float64
	for _, p := range pos {
		if p >= k {
			break
		}
		dcg += disc(p)
	}
	return dcg / ideal(min(k, total))
}
