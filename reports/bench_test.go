package reports

import (
	"io"
	"testing"

	"github.com/cgbench/cgbench/eval"
)

func BenchmarkWriteHTML(b *testing.B) {
	files := []*eval.File{fullFile(1)}
	opts := HTMLOptions{Ablation: stalenessAblation()}
	b.ReportAllocs()
	for b.Loop() {
		if err := WriteHTML(io.Discard, files, opts); err != nil {
			b.Fatal(err)
		}
	}
}

func BenchmarkWriteTable(b *testing.B) {
	f := fullFile(1)
	b.ReportAllocs()
	for b.Loop() {
		if err := WriteTable(io.Discard, f, TableOptions{Segments: []string{"*"}}); err != nil {
			b.Fatal(err)
		}
	}
}
