package nn

// rowsTask runs fn over [0, n) in chunks of step rows. A module builds its
// rowsTasks once (the method value allocates) and reuses them every call.
type rowsTask struct {
	fn      func(chunk, lo, hi int)
	n, step int
}

func (t *rowsTask) run(c int) {
	lo, hi := chunkBounds(c, t.step, t.n)
	t.fn(c, lo, hi)
}

// do runs the task over n rows split into chunks of step rows and returns the
// number of chunks; chunk bounds depend only on n and step.
func (t *rowsTask) do(n, step int) int {
	t.n, t.step = n, step
	c := numChunks(n, step)
	parallelFor(t, c)
	return c
}

// rowStep picks a chunk height so that a chunk holds roughly 16k elements of a
// matrix with cols columns; it depends only on the shape.
func rowStep(cols int) int {
	return max(1, (1<<14)/max(cols, 1))
}

// sumPartials adds the chunk partial sums part[c*dim:(c+1)*dim] for c in chunk
// order into dst.
func sumPartials(dst, part []float32, chunks, dim int) {
	for c := range chunks {
		p := part[c*dim : (c+1)*dim]
		for j, v := range p {
			dst[j] += v
		}
	}
}
