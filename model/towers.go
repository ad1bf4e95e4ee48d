package model

import (
	"fmt"
	"math/rand/v2"

	"github.com/cgbench/cgbench/datasets"
	"github.com/cgbench/cgbench/model/nn"
)

// net is the two-tower network: its modules, parameters and the buffers of
// one forward/backward pass. A net is not safe for concurrent use; serving
// uses one replica per goroutine, sharing the weights.
//
// User tower (offline half): token = item-id embedding + event-type
// embedding + time-gap-bucket embedding + position embedding (+ the item's
// confidence-weighted category bag when HistoryCategories), then Layers
// pre-norm encoder layers and a final LayerNorm. Its output sequence and the
// last position's state are what the feature store caches.
//
// User tower (online half): for the contextual model a context vector =
// Dropout(ReLU(Linear([subject category bag, age, country, gender]))), fused
// with the cached state by concatenation and/or cross-attention (context as
// the query over the encoder output), then the user head MLP; the baseline
// feeds the last state alone to the head. The head's output is
// L2-normalised.
//
// Item tower: [item-id embedding, category bag] -> MLP -> L2 normalisation.
// With CategoryResidual or IDResidual, shared tables add the history's (user)
// and the ad Pin's own (item) category and id bags to both towers' outputs
// before their normalisation.
// Scores are dot products divided by the temperature, so they are cosines
// scaled by 1/T.
type net struct {
	cfg    *Config
	f      *features
	L, d   int
	ctxIn  int // width of the context layer's input
	headIn int // width of the user head's input

	itemEmb, typeEmb, gapEmb *nn.Embedding
	pos                      *nn.Param
	histCat                  *nn.EmbeddingBag
	layers                   []*nn.EncoderLayer
	finalLN                  *nn.LayerNorm

	ctxCat                        *nn.EmbeddingBag
	ageEmb, countryEmb, genderEmb *nn.Embedding
	ctxLin                        *nn.Linear
	ctxAct                        *nn.Act
	ctxDrop                       *nn.Dropout
	ctxRowDrop                    *nn.RowDropout
	cross                         *nn.CrossAttention
	head                          *nn.MLP
	userNorm                      *nn.L2Norm

	itemIDEmb *nn.Embedding
	itemCat   *nn.EmbeddingBag
	// userRes and itemRes read one table (CategoryResidual).
	userRes, itemRes *nn.EmbeddingBag
	// userIDRes and itemIDRes read one table (IDResidual).
	userIDRes *nn.EmbeddingBag
	itemIDRes *nn.Embedding
	itemMLP   *nn.MLP
	itemNorm  *nn.L2Norm

	params []*nn.Param

	// forward state read by backward
	b   *batch
	seq *nn.Mat // encoder output, (B*L) x d, owned by finalLN

	// buffers
	x, last, fused, ctxInBuf, dseq, dpart, dctx *nn.Mat
	itemIn, ditemA, ditemB                      *nn.Mat
	uPre, vPre                                  *nn.Mat
	itemCats                                    bags
}

// newNet builds a network with freshly initialised weights drawn from rng.
func newNet(cfg *Config, f *features, rng *rand.Rand) *net {
	d, L := cfg.Dim, cfg.MaxLen
	n := &net{cfg: cfg, f: f, L: L, d: d}
	n.itemEmb = nn.NewEmbedding("user.item_emb", f.nItems, d, rng)
	n.typeEmb = nn.NewEmbedding("user.type_emb", datasets.NumEventTypes, d, rng)
	n.gapEmb = nn.NewEmbedding("user.gap_emb", cfg.GapBuckets, d, rng)
	n.pos = nn.NewParam("user.pos_emb", L, d)
	for i := range n.pos.W {
		n.pos.W[i] = float32(0.02 * rng.NormFloat64())
	}
	n.params = append(n.params, n.itemEmb.Table, n.typeEmb.Table, n.gapEmb.Table, n.pos)
	if cfg.HistoryCategories {
		n.histCat = nn.NewEmbeddingBag("user.hist_cat", f.nCats, d, rng)
		n.params = append(n.params, n.histCat.Table)
	}
	for i := range cfg.Layers {
		l := nn.NewEncoderLayer(fmt.Sprintf("user.layer%d", i), d, cfg.Heads, cfg.FFN, float32(cfg.Dropout), rng)
		n.layers = append(n.layers, l)
		n.params = append(n.params, l.Params()...)
	}
	n.finalLN = nn.NewLayerNorm("user.final_ln", d)
	n.params = append(n.params, n.finalLN.Params()...)

	n.headIn = d
	if cfg.Contextual() {
		c := &cfg.Context
		if c.UseCategories {
			n.ctxCat = nn.NewEmbeddingBag("context.cat", f.nCats, d, rng)
			n.params = append(n.params, n.ctxCat.Table)
			n.ctxIn += d
		}
		if c.UseDemographics {
			n.ageEmb = nn.NewEmbedding("context.age", datasets.NumAgeBuckets, c.DemoDim, rng)
			n.countryEmb = nn.NewEmbedding("context.country", len(f.countries)+1, c.DemoDim, rng)
			n.genderEmb = nn.NewEmbedding("context.gender", datasets.NumGenders, c.DemoDim, rng)
			n.params = append(n.params, n.ageEmb.Table, n.countryEmb.Table, n.genderEmb.Table)
			n.ctxIn += 3 * c.DemoDim
		}
		n.ctxLin = nn.NewLinear("context.proj", n.ctxIn, d, rng)
		n.params = append(n.params, n.ctxLin.Params()...)
		n.ctxAct = nn.NewAct(nn.ReLU)
		n.ctxDrop = nn.NewDropout(float32(c.Dropout))
		n.ctxRowDrop = nn.NewRowDropout(float32(c.WholeDropout))
		switch c.Fusion {
		case FusionConcat:
			n.headIn = 2 * d
		case FusionCrossAttention:
			n.headIn = 2 * d
		case FusionBoth:
			n.headIn = 3 * d
		}
		if n.usesCross() {
			n.cross = nn.NewCrossAttention("fusion.cross", d, d, cfg.Heads, rng)
			n.params = append(n.params, n.cross.Params()...)
		}
	}
	n.head = nn.NewMLP("user.head", mlpSizes(n.headIn, cfg.UserHead, cfg.EmbeddingDim()), nn.ReLU, 0, rng)
	n.params = append(n.params, n.head.Params()...)
	n.userNorm = nn.NewL2Norm()

	if cfg.TieIDEmbeddings {
		n.itemIDEmb = &nn.Embedding{Table: n.itemEmb.Table, Rows: f.nItems, Dim: d}
	} else {
		n.itemIDEmb = nn.NewEmbedding("item.id_emb", f.nItems, d, rng)
		scaleTable(n.itemIDEmb.Table.W, cfg.IDInitScale)
		n.params = append(n.params, n.itemIDEmb.Table)
	}
	scaleTable(n.itemEmb.Table.W, cfg.IDInitScale)
	if cfg.TieIDEmbeddings && n.histCat != nil {
		n.itemCat = &nn.EmbeddingBag{Table: n.histCat.Table, Rows: f.nCats, Dim: d}
	} else {
		n.itemCat = nn.NewEmbeddingBag("item.cat", f.nCats, d, rng)
		n.params = append(n.params, n.itemCat.Table)
	}
	n.itemMLP = nn.NewMLP("item.mlp", mlpSizes(2*d, cfg.ItemTower, cfg.EmbeddingDim()), nn.ReLU, 0, rng)
	n.params = append(n.params, n.itemMLP.Params()...)
	n.itemNorm = nn.NewL2Norm()
	if cfg.CategoryResidual {
		n.userRes = nn.NewEmbeddingBag("category_residual", f.nCats, cfg.EmbeddingDim(), rng)
		n.itemRes = &nn.EmbeddingBag{Table: n.userRes.Table, Rows: f.nCats, Dim: cfg.EmbeddingDim()}
		n.params = append(n.params, n.userRes.Table)
	}
	if cfg.IDResidual {
		n.userIDRes = nn.NewEmbeddingBag("id_residual", f.nItems, cfg.EmbeddingDim(), rng)
		n.itemIDRes = &nn.Embedding{Table: n.userIDRes.Table, Rows: f.nItems, Dim: cfg.EmbeddingDim()}
		n.params = append(n.params, n.userIDRes.Table)
	}

	seen := map[string]bool{}
	for _, p := range n.params {
		if seen[p.Name] {
			panic("model: duplicate parameter name " + p.Name)
		}
		seen[p.Name] = true
	}
	n.x, n.last, n.fused, n.ctxInBuf = &nn.Mat{}, &nn.Mat{}, &nn.Mat{}, &nn.Mat{}
	n.dseq, n.dpart, n.dctx = &nn.Mat{}, &nn.Mat{}, &nn.Mat{}
	n.itemIn, n.ditemA, n.ditemB = &nn.Mat{}, &nn.Mat{}, &nn.Mat{}
	n.uPre, n.vPre = &nn.Mat{}, &nn.Mat{}
	return n
}

func mlpSizes(in int, hidden []int, out int) []int {
	s := append([]int{in}, hidden...)
	return append(s, out)
}

func (n *net) usesCross() bool {
	return n.cfg.Contextual() && (n.cfg.Context.Fusion == FusionCrossAttention || n.cfg.Context.Fusion == FusionBoth)
}

func (n *net) usesLast() bool {
	return !n.cfg.Contextual() || n.cfg.Context.Fusion == FusionConcat || n.cfg.Context.Fusion == FusionBoth
}

// shareWeights makes n read src's weights (same config and sizes).
func (n *net) shareWeights(src *net) {
	for i, p := range n.params {
		q := src.params[i]
		if p.Name != q.Name || len(p.W) != len(q.W) {
			panic("model: shareWeights between different networks")
		}
		p.W = q.W
		p.G = nil // a replica never runs backward
	}
}

// encode runs the offline half of the user tower over b's sequences and
// returns the encoder output, (B*L) x d, valid until the next encode.
func (n *net) encode(b *batch, train bool, rng *rand.Rand) *nn.Mat {
	B, L, d := b.B, b.L, n.d
	if L != n.L {
		panic(fmt.Sprintf("model: batch length %d, model L %d", L, n.L))
	}
	b.checkSeq()
	n.b = b
	x := n.x.Reshape(B*L, d)
	copy(x.D, n.itemEmb.Forward(b.ids).D)
	addTo(x.D, n.typeEmb.Forward(b.types).D)
	addTo(x.D, n.gapEmb.Forward(b.gaps).D)
	if n.histCat != nil {
		addTo(x.D, n.histCat.Forward(b.tokenCats.ids, b.tokenCats.w, b.tokenCats.off).D)
	}
	for r := range B * L {
		addTo(x.D[r*d:(r+1)*d], n.pos.W[(r%L)*d:(r%L+1)*d])
	}
	h := x
	for _, l := range n.layers {
		h = l.Forward(h, B, L, b.pad, n.cfg.Causal, train, rng)
	}
	n.seq = n.finalLN.Forward(h)
	return n.seq
}

// lastStates gathers the summary of every sequence of seq into n.last.
func (n *net) lastStates(seq *nn.Mat, B int) *nn.Mat {
	last := n.last.Reshape(B, n.d)
	for i := range B {
		n.summarize(last.Row(i), seq, n.b.pad, i)
	}
	return last
}

// summarize writes the summary of sequence i of seq into dst (d): the state
// at position L-1 and, with PoolingLastMean, plus the mean of the states at
// unpadded positions. The mean gives every event of a long history a direct
// path to the user embedding, as the history-interest heuristic has.
func (n *net) summarize(dst []float32, seq *nn.Mat, pad []bool, i int) {
	d, L := n.d, n.L
	copy(dst, seq.D[(i*L+L-1)*d:(i*L+L)*d])
	if n.cfg.Pooling != PoolingLastMean {
		return
	}
	cnt := unpadded(pad, i, L)
	if cnt == 0 {
		return
	}
	inv := 1 / float32(cnt)
	for t := range L {
		if pad[i*L+t] {
			continue
		}
		for j, v := range seq.D[(i*L+t)*d : (i*L+t+1)*d] {
			dst[j] += v * inv
		}
	}
}

// userHead runs the online half: context layer, fusion and head, from the
// last states (B x d) and, for cross-attention, the encoder output seq
// ((B*L) x d, masked by b.pad). It returns the L2-normalised user
// embeddings, B x EmbeddingDim().
func (n *net) userHead(b *batch, last, seq *nn.Mat, train bool, rng *rand.Rand) *nn.Mat {
	B, d := b.B, n.d
	n.b = b
	n.seq = seq
	if !n.cfg.Contextual() {
		return n.normalize(n.head.Forward(last, train, rng))
	}
	b.checkContext()
	if n.usesCross() && len(b.pad) != B*n.L {
		panic(fmt.Sprintf("model: cross-attention needs %d padding flags, have %d", B*n.L, len(b.pad)))
	}
	c := n.contextForward(b, train, rng)
	fused := n.fused.Reshape(B, n.headIn)
	col := 0
	if n.usesLast() {
		copyCols(fused, col, last)
		col += d
	}
	if n.usesCross() {
		a := n.cross.Forward(c, seq, B, n.L, b.pad)
		copyCols(fused, col, a)
		col += d
	}
	copyCols(fused, col, c)
	return n.normalize(n.head.Forward(fused, train, rng))
}

// normalize adds the residuals the config has (the history's category and
// ad Pin bags) to the head's output h and L2-normalises the rows.
func (n *net) normalize(h *nn.Mat) *nn.Mat {
	if n.userRes == nil && n.userIDRes == nil {
		return n.userNorm.Forward(h)
	}
	b := n.b
	pre := n.uPre.Reshape(h.R, h.C)
	copy(pre.D, h.D)
	if n.userRes != nil {
		if b.histCats.n() != h.R {
			panic(fmt.Sprintf("model: category residual needs %d history bags, have %d", h.R, b.histCats.n()))
		}
		addTo(pre.D, n.userRes.Forward(b.histCats.ids, b.histCats.w, b.histCats.off).D)
	}
	if n.userIDRes != nil {
		if b.histAds.n() != h.R {
			panic(fmt.Sprintf("model: id residual needs %d history bags, have %d", h.R, b.histAds.n()))
		}
		addTo(pre.D, n.userIDRes.Forward(b.histAds.ids, b.histAds.w, b.histAds.off).D)
	}
	return n.userNorm.Forward(pre)
}

// contextForward computes the context vectors, B x d.
func (n *net) contextForward(b *batch, train bool, rng *rand.Rand) *nn.Mat {
	in := n.ctxInBuf.Reshape(b.B, n.ctxIn)
	col := 0
	if n.ctxCat != nil {
		copyCols(in, col, n.ctxCat.Forward(b.subject.ids, b.subject.w, b.subject.off))
		col += n.d
	}
	if n.ageEmb != nil {
		copyCols(in, col, n.ageEmb.Forward(b.age))
		col += n.cfg.Context.DemoDim
		copyCols(in, col, n.countryEmb.Forward(b.country))
		col += n.cfg.Context.DemoDim
		copyCols(in, col, n.genderEmb.Forward(b.gender))
	}
	h := n.ctxAct.Forward(n.ctxLin.Forward(in))
	h = n.ctxDrop.Forward(h, train, rng)
	return n.ctxRowDrop.Forward(h, train, rng)
}

// userForward runs the whole user tower: encode then userHead.
func (n *net) userForward(b *batch, train bool, rng *rand.Rand) *nn.Mat {
	seq := n.encode(b, train, rng)
	return n.userHead(b, n.lastStates(seq, b.B), seq, train, rng)
}

// userBackward back-propagates dU (B x d, the gradient of the normalised
// user embeddings) through the whole user tower of the last userForward.
func (n *net) userBackward(dU *nn.Mat) {
	b := n.b
	B, L, d := b.B, n.L, n.d
	dn := n.userNorm.Backward(dU)
	if n.userRes != nil {
		n.userRes.Backward(dn)
	}
	if n.userIDRes != nil {
		n.userIDRes.Backward(dn)
	}
	dfused := n.head.Backward(dn)
	dseq := n.dseq.Reshape(B*L, d)
	clear(dseq.D)
	if !n.cfg.Contextual() {
		n.addLast(dseq, dfused, 0, B)
	} else {
		col := 0
		if n.usesLast() {
			n.addLast(dseq, dfused, col, B)
			col += d
		}
		dctx := n.dctx.Reshape(B, d)
		clear(dctx.D)
		if n.usesCross() {
			da := n.dpart.Reshape(B, d)
			takeCols(da, dfused, col)
			col += d
			dq, dkv := n.cross.Backward(da)
			addTo(dctx.D, dq.D)
			addTo(dseq.D, dkv.D)
		}
		for i := range B {
			addTo(dctx.Row(i), dfused.D[i*n.headIn+col:i*n.headIn+col+d])
		}
		n.contextBackward(dctx)
	}
	dh := n.finalLN.Backward(dseq)
	for i := len(n.layers) - 1; i >= 0; i-- {
		dh = n.layers[i].Backward(dh)
	}
	n.itemEmb.Backward(dh)
	n.typeEmb.Backward(dh)
	n.gapEmb.Backward(dh)
	if n.histCat != nil {
		n.histCat.Backward(dh)
	}
	for r := range B * L {
		t := r % L
		addTo(n.pos.G[t*d:(t+1)*d], dh.D[r*d:(r+1)*d])
	}
}

func (n *net) contextBackward(dc *nn.Mat) {
	dh := n.ctxRowDrop.Backward(dc)
	dh = n.ctxDrop.Backward(dh)
	dh = n.ctxAct.Backward(dh)
	din := n.ctxLin.Backward(dh)
	col := 0
	part := n.dpart
	if n.ctxCat != nil {
		n.ctxCat.Backward(takeCols(part.Reshape(din.R, n.d), din, col))
		col += n.d
	}
	if n.ageEmb != nil {
		dd := n.cfg.Context.DemoDim
		n.ageEmb.Backward(takeCols(part.Reshape(din.R, dd), din, col))
		n.countryEmb.Backward(takeCols(part.Reshape(din.R, dd), din, col+dd))
		n.genderEmb.Backward(takeCols(part.Reshape(din.R, dd), din, col+2*dd))
	}
}

// itemsForward embeds the ad Pins ids: len(ids) x d, L2-normalised.
func (n *net) itemsForward(ids []int32, train bool, rng *rand.Rand) *nn.Mat {
	d := n.d
	n.f.itemBags(ids, &n.itemCats)
	in := n.itemIn.Reshape(len(ids), 2*d)
	copyCols(in, 0, n.itemIDEmb.Forward(ids))
	copyCols(in, d, n.itemCat.Forward(n.itemCats.ids, n.itemCats.w, n.itemCats.off))
	v := n.itemMLP.Forward(in, train, rng)
	if n.itemRes != nil || n.itemIDRes != nil {
		pre := n.vPre.Reshape(v.R, v.C)
		copy(pre.D, v.D)
		if n.itemRes != nil {
			addTo(pre.D, n.itemRes.Forward(n.itemCats.ids, n.itemCats.w, n.itemCats.off).D)
		}
		if n.itemIDRes != nil {
			addTo(pre.D, n.itemIDRes.Forward(ids).D)
		}
		v = pre
	}
	return n.itemNorm.Forward(v)
}

// itemsBackward back-propagates the gradient of the last itemsForward.
func (n *net) itemsBackward(dV *nn.Mat) {
	dv := n.itemNorm.Backward(dV)
	if n.itemRes != nil {
		n.itemRes.Backward(dv)
	}
	if n.itemIDRes != nil {
		n.itemIDRes.Backward(dv)
	}
	din := n.itemMLP.Backward(dv)
	n.itemIDEmb.Backward(takeCols(n.ditemA.Reshape(din.R, n.d), din, 0))
	n.itemCat.Backward(takeCols(n.ditemB.Reshape(din.R, n.d), din, n.d))
}

// scaleTable multiplies every weight of a table by s.
func scaleTable(w []float32, s float64) {
	for i := range w {
		w[i] *= float32(s)
	}
}

// addTo adds src to dst element-wise.
func addTo(dst, src []float32) {
	src = src[:len(dst)]
	for i, v := range src {
		dst[i] += v
	}
}

// copyCols copies src into the columns [col, col+src.C) of dst (same rows).
func copyCols(dst *nn.Mat, col int, src *nn.Mat) {
	if src.R != dst.R || col+src.C > dst.C {
		panic(fmt.Sprintf("model: copyCols %dx%d into %dx%d at %d", src.R, src.C, dst.R, dst.C, col))
	}
	for i := range src.R {
		copy(dst.D[i*dst.C+col:i*dst.C+col+src.C], src.Row(i))
	}
}

// takeCols copies the columns [col, col+dst.C) of src into dst and returns dst.
func takeCols(dst, src *nn.Mat, col int) *nn.Mat {
	for i := range dst.R {
		copy(dst.Row(i), src.D[i*src.C+col:i*src.C+col+dst.C])
	}
	return dst
}

// unpadded counts the events of sequence i (L positions of pad).
func unpadded(pad []bool, i, L int) int {
	n := 0
	for _, p := range pad[i*L : (i+1)*L] {
		if !p {
			n++
		}
	}
	return n
}

// addLast back-propagates columns [col, col+d) of g (B rows), the gradient
// of the summaries (see summarize), into dseq.
func (n *net) addLast(dseq, g *nn.Mat, col, B int) {
	d, L := n.d, n.L
	pad := n.b.pad
	for i := range B {
		gi := g.D[i*g.C+col : i*g.C+col+d]
		addTo(dseq.D[(i*L+L-1)*d:(i*L+L)*d], gi)
		if n.cfg.Pooling != PoolingLastMean {
			continue
		}
		cnt := unpadded(pad, i, L)
		if cnt == 0 {
			continue
		}
		inv := 1 / float32(cnt)
		for t := range L {
			if pad[i*L+t] {
				continue
			}
			row := dseq.D[(i*L+t)*d : (i*L+t+1)*d]
			for j, v := range gi {
				row[j] += v * inv
			}
		}
	}
}
