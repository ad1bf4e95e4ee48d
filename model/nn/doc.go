// Package nn provides the float32 tensors, layers, losses and optimizer that the
// two-tower models of package model are built from, each with a hand-written
// backward pass.
//
// The conventions, in the order a training step meets them:
//
//  1. Activations are row-major float32 matrices (Mat); a batch of B sequences of
//     length L is a (B*L) x d matrix whose row b*L+t is position t of sequence b.
//  2. Every module's Forward caches what its Backward needs and returns a buffer
//     the module owns, valid until its next Forward. The input of Forward must not
//     be modified before the matching Backward.
//  3. Backward takes dL/dy, accumulates (+=) into the gradients of the module's
//     parameters and returns dL/dx in a buffer the module owns.
//  4. Buffers grow only when a larger batch shape arrives, so a second
//     forward+backward at the same shape allocates (almost) nothing.
//  5. Embedding tables are sparse parameters: their backward passes touch only the
//     rows that were looked up and record them in Param.Touched; Adam updates
//     only those rows (lazy Adam).
//  6. Matrix products go through Gemm. Work is split into chunks whose number and
//     bounds depend only on the shapes, and every output element is computed by
//     one chunk in a fixed order, so results are bit-identical for any thread
//     count and any goroutine scheduling.
//
// Modules are not safe for concurrent use; Gemm and the other package functions
// are.
//
// The matrix micro-kernel is chosen at build time, all behind Gemm:
//
//   - amd64 (default): a 4x16 AVX2+FMA assembly kernel (gemm_kernel_amd64.s),
//     with the pure-Go kernel as fallback on CPUs without AVX2/FMA;
//   - GOEXPERIMENT=simd on amd64: the same tile written with Go 1.26's
//     simd/archsimd, plus vectorised GELU;
//   - other architectures, or -tags purego: the portable pure-Go 4x4 kernel.
//
// The variants agree to float32 rounding (tests check each against a float64
// reference); within one build, results are bit-identical across thread counts.
package nn
