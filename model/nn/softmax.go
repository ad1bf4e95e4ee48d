package nn

import (
	"fmt"
	"math"
)

// SampledSoftmax is the in-batch sampled softmax loss with logQ correction.
// For B user embeddings U and their positive items V (both B x d), the logits
// of user i are
//
//	l[i][j] = U_i . C_j / Temperature - logQ_j
//
// over the columns C = [V; Neg]: the in-batch items followed by optional extra
// negatives. logQ_j is the log sampling probability of column j's item. Columns
// j != i whose item id equals ids[i] (duplicates of the positive, in-batch or
// among the negatives) are masked out. The loss is the mean over users of
// -log softmax(l[i])[i].
type SampledSoftmax struct {
	Temperature float32

	b, n, d   int
	u         *Mat
	cols      *Mat // (B+N) x d
	logits    *Mat // B x (B+N); after Forward: dL/dlogits
	dU, dCols *Mat
	dV, dNeg  Mat // views into dCols
}

// NewSampledSoftmax returns the loss with the given softmax temperature (> 0).
func NewSampledSoftmax(temperature float32) *SampledSoftmax {
	if !(temperature > 0) {
		panic(fmt.Sprintf("nn: NewSampledSoftmax: temperature %g not positive", temperature))
	}
	return &SampledSoftmax{Temperature: temperature}
}

// Forward returns the mean cross-entropy. ids (item id per row of V), logQ,
// Neg, negIDs and negLogQ may each be nil: no duplicate masking, no
// correction, no extra negatives. U and V must not change before Backward.
func (s *SampledSoftmax) Forward(U, V *Mat, ids []int32, logQ []float32, Neg *Mat, negIDs []int32, negLogQ []float32) float32 {
	B, d := U.R, U.C
	N := 0
	if Neg != nil {
		N = Neg.R
	}
	if V.R != B || V.C != d || (Neg != nil && Neg.C != d) || (ids != nil && len(ids) != B) || (logQ != nil && len(logQ) != B) ||
		(negIDs != nil && len(negIDs) != N) || (negLogQ != nil && len(negLogQ) != N) {
		panic(fmt.Sprintf("nn: SampledSoftmax: inconsistent shapes U %dx%d V %dx%d, %d negatives, %d ids, %d logQ, %d negIDs, %d negLogQ",
			U.R, U.C, V.R, V.C, N, len(ids), len(logQ), len(negIDs), len(negLogQ)))
	}
	s.b, s.n, s.d, s.u = B, N, d, U
	if B == 0 {
		return 0
	}
	cols := ensure(&s.cols, B+N, d)
	copy(cols.D, V.D)
	if N > 0 {
		copy(cols.D[B*d:], Neg.D)
	}
	nc := B + N
	lg := ensure(&s.logits, B, nc)
	Gemm(false, true, B, nc, d, 1/s.Temperature, U.D, d, cols.D, d, 0, lg.D, nc)
	negInf := float32(math.Inf(-1))
	var loss float64
	invB := 1 / float32(B)
	for i := range B {
		row := lg.Row(i)
		for j := range B {
			if logQ != nil {
				row[j] -= logQ[j]
			}
			if ids != nil && j != i && ids[j] == ids[i] {
				row[j] = negInf
			}
		}
		for j := range N {
			if negLogQ != nil {
				row[B+j] -= negLogQ[j]
			}
			if ids != nil && negIDs != nil && negIDs[j] == ids[i] {
				row[B+j] = negInf
			}
		}
		m := row[i]
		for _, v := range row {
			m = max(m, v)
		}
		pos := float64(row[i] - m)
		var sum float64
		for j, v := range row {
			e := math.Exp(float64(v - m))
			row[j] = float32(e)
			sum += e
		}
		// -log p_ii = log(sum_j exp(l_ij - m)) - (l_ii - m).
		loss += math.Log(sum) - pos
		inv := float32(1 / sum)
		for j := range row {
			row[j] *= inv * invB
		}
		row[i] -= invB
	}
	return float32(loss / float64(B))
}

// Backward returns dL/dU (B x d), dL/dV (B x d) and dL/dNeg (N x d, nil without
// extra negatives), in buffers the loss owns.
func (s *SampledSoftmax) Backward() (dU, dV, dNeg *Mat) {
	B, N, d := s.b, s.n, s.d
	nc := B + N
	dU = ensure(&s.dU, B, d)
	dc := ensure(&s.dCols, nc, d)
	if B > 0 {
		inv := 1 / s.Temperature
		Gemm(false, false, B, d, nc, inv, s.logits.D, nc, s.cols.D, d, 0, dU.D, d)
		Gemm(true, false, nc, d, B, inv, s.logits.D, nc, s.u.D, d, 0, dc.D, d)
	}
	s.dV = Mat{R: B, C: d, D: dc.D[:B*d]}
	if N == 0 {
		return dU, &s.dV, nil
	}
	s.dNeg = Mat{R: N, C: d, D: dc.D[B*d : nc*d]}
	return dU, &s.dV, &s.dNeg
}
