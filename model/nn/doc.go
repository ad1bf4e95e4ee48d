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
// The fast matrix kernel needs GOEXPERIMENT=simd (Go 1.26 simd/archsimd, AVX2 +
// FMA); without it a portable pure-Go kernel is used.
package nn
