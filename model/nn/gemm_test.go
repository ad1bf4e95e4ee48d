package nn

import (
	"fmt"
	"math"
	"math/rand/v2"
	"testing"
)

func randSlice(rng *rand.Rand, n int) []float32 {
	s := make([]float32, n)
	for i := range s {
		s[i] = rng.Float32()*2 - 1
	}
	return s
}

// naiveGemm is the float64 triple-loop reference for Gemm.
func naiveGemm(transA, transB bool, m, n, k int, alpha float32, a []float32, lda int, b []float32, ldb int, beta float32, c []float32, ldc int) []float64 {
	out := make([]float64, m*n)
	for i := range m {
		for j := range n {
			var s float64
			for p := range k {
				var av, bv float32
				if transA {
					av = a[p*lda+i]
				} else {
					av = a[i*lda+p]
				}
				if transB {
					bv = b[j*ldb+p]
				} else {
					bv = b[p*ldb+j]
				}
				s += float64(av) * float64(bv)
			}
			v := float64(alpha) * s
			if beta != 0 {
				v += float64(beta) * float64(c[i*ldc+j])
			}
			out[i*n+j] = v
		}
	}
	return out
}

func TestGemmMatchesNaive(t *testing.T) {
	shapes := []struct{ m, n, k int }{
		{1, 1, 1}, {3, 5, 7}, {17, 33, 9}, {64, 64, 64}, {5, 130, 300}, {300, 7, 260}, {131, 67, 513}, {2, 600, 3},
		{0, 4, 4}, {4, 4, 0},
	}
	for _, sh := range shapes {
		for _, tr := range [][2]bool{{false, false}, {true, false}, {false, true}, {true, true}} {
			for _, ab := range [][2]float32{{1, 0}, {0.5, 1}, {-2, 0.25}} {
				name := fmt.Sprintf("m%d_n%d_k%d_tA%v_tB%v_alpha%g_beta%g", sh.m, sh.n, sh.k, tr[0], tr[1], ab[0], ab[1])
				t.Run(name, func(t *testing.T) {
					checkGemmShape(t, sh.m, sh.n, sh.k, tr[0], tr[1], ab[0], ab[1])
				})
			}
		}
	}
}

// checkGemmShape compares Gemm with the float64 triple loop, with strides
// larger than the logical widths.
func checkGemmShape(t *testing.T, m, n, k int, tA, tB bool, alpha, beta float32) {
	t.Helper()
	rng := rand.New(rand.NewPCG(1, uint64(m*1000+n)))
	lda, ldb, ldc := k+3, n+2, n+1
	ar, br := m, k
	if tA {
		lda, ar = m+3, k
	}
	if tB {
		ldb, br = k+2, n
	}
	a := randSlice(rng, max(ar*lda, 1))
	b := randSlice(rng, max(br*ldb, 1))
	c := randSlice(rng, max(m*ldc, 1))
	want := naiveGemm(tA, tB, m, n, k, alpha, a, lda, b, ldb, beta, c, ldc)
	Gemm(tA, tB, m, n, k, alpha, a, lda, b, ldb, beta, c, ldc)
	for i := range m {
		for j := range n {
			got := float64(c[i*ldc+j])
			w := want[i*n+j]
			if math.Abs(got-w) > 1e-5*float64(k+1)+1e-5*math.Abs(w) {
				t.Fatalf("Gemm C[%d,%d] = %g, want %g", i, j, got, w)
			}
		}
	}
}

func TestGemmBetaZeroIgnoresNaN(t *testing.T) {
	a := []float32{1, 2, 3, 4}
	b := []float32{1, 0, 0, 1}
	c := []float32{float32(math.NaN()), float32(math.NaN()), float32(math.NaN()), float32(math.NaN())}
	Gemm(false, false, 2, 2, 2, 1, a, 2, b, 2, 0, c, 2)
	for i, want := range a {
		if c[i] != want {
			t.Fatalf("Gemm with beta=0 and NaN in C: C[%d] = %g, want %g", i, c[i], want)
		}
	}
}

func TestGemmThreadsBitIdentical(t *testing.T) {
	defer SetThreads(Threads())
	rng := rand.New(rand.NewPCG(7, 7))
	for _, sh := range []struct{ m, n, k int }{{517, 191, 67}, {61, 389, 301}, {256, 256, 64}} {
		for _, tr := range [][2]bool{{false, false}, {true, false}, {false, true}, {true, true}} {
			name := fmt.Sprintf("m%d_n%d_k%d_tA%v_tB%v", sh.m, sh.n, sh.k, tr[0], tr[1])
			t.Run(name, func(t *testing.T) {
				m, n, k := sh.m, sh.n, sh.k
				lda, ldb := k, n
				if tr[0] {
					lda = m
				}
				if tr[1] {
					ldb = k
				}
				a := randSlice(rng, m*k)
				b := randSlice(rng, k*n)
				c0 := randSlice(rng, m*n)
				var ref []float32
				for _, th := range []int{1, 2, 3, 4} {
					SetThreads(th)
					c := append([]float32(nil), c0...)
					Gemm(tr[0], tr[1], m, n, k, 0.7, a, lda, b, ldb, 0.3, c, n)
					if ref == nil {
						ref = c
						continue
					}
					for i := range c {
						if math.Float32bits(c[i]) != math.Float32bits(ref[i]) {
							t.Fatalf("Gemm with %d threads: C[%d] = %v, with 1 thread %v", th, i, c[i], ref[i])
						}
					}
				}
			})
		}
	}
}

func BenchmarkGemm(b *testing.B) {
	defer SetThreads(Threads())
	shapes := []struct {
		name    string
		tA, tB  bool
		m, n, k int
	}{
		{"qkv_8192x64x192", false, false, 8192, 192, 64},
		{"ffn1_8192x64x256", false, false, 8192, 256, 64},
		{"ffn2_8192x256x64", false, false, 8192, 64, 256},
		{"dW_64x8192x256_tA", true, false, 64, 256, 8192},
		{"dx_8192x256x64_tB", false, true, 8192, 64, 256},
		{"logits_256x64x256_tB", false, true, 256, 256, 64},
	}
	rng := rand.New(rand.NewPCG(1, 2))
	for _, th := range []int{1, 2} {
		for _, sh := range shapes {
			b.Run(fmt.Sprintf("%s/%s/threads=%d", gemmKernelName, sh.name, th), func(b *testing.B) {
				SetThreads(th)
				a := randSlice(rng, sh.m*sh.k)
				bb := randSlice(rng, sh.k*sh.n)
				c := make([]float32, sh.m*sh.n)
				lda, ldb := sh.k, sh.n
				if sh.tA {
					lda = sh.m
				}
				if sh.tB {
					ldb = sh.k
				}
				b.ResetTimer()
				for b.Loop() {
					Gemm(sh.tA, sh.tB, sh.m, sh.n, sh.k, 1, a, lda, bb, ldb, 0, c, sh.n)
				}
				b.ReportMetric(2*float64(sh.m*sh.n*sh.k)*float64(b.N)/b.Elapsed().Seconds()/1e9, "GFLOP/s")
			})
		}
	}
}
