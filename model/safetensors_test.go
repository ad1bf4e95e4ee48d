package model

import (
	"encoding/binary"
	"os"
	"path/filepath"
	"strings"
	"testing"
)

// stFixture returns a small valid safetensors file's bytes.
func stFixture(t testing.TB) []byte {
	path := filepath.Join(t.TempDir(), "x.safetensors")
	err := writeSafetensors(path, []stTensor{
		{Name: "b", DType: dtypeF32, Shape: []int{2, 3}, F32: []float32{1, 2, 3, 4, 5, -6.5}},
		{Name: "a", DType: dtypeI32, Shape: []int{2}, I32: []int32{-1, 7}},
		{Name: "empty", DType: dtypeF32, Shape: []int{0, 4}, F32: []float32{}},
	}, map[string]string{"k": "v"})
	if err != nil {
		t.Fatal(err)
	}
	data, err := os.ReadFile(path)
	if err != nil {
		t.Fatal(err)
	}
	return data
}

func TestSafetensorsRoundTrip(t *testing.T) {
	data := stFixture(t)
	n := binary.LittleEndian.Uint64(data[:8])
	if n%8 != 0 {
		t.Errorf("header length %d, want a multiple of 8", n)
	}
	hdr := string(data[8 : 8+n])
	// Tensors are laid out in name order: a, b, empty.
	for _, want := range []string{`"a":{"dtype":"I32","shape":[2],"data_offsets":[0,8]}`, `"b":{"dtype":"F32","shape":[2,3],"data_offsets":[8,32]}`, `"__metadata__":{"k":"v"}`} {
		if !strings.Contains(hdr, want) {
			t.Errorf("header %s lacks %s", hdr, want)
		}
	}
	f, err := parseSafetensors(data)
	if err != nil {
		t.Fatal(err)
	}
	f.Path = "x"
	b, err := f.tensorF32("b", 2, 3)
	if err != nil || b[5] != -6.5 || b[0] != 1 {
		t.Errorf("tensor b = %v, %v", b, err)
	}
	a, err := f.tensorI32("a", 2)
	if err != nil || a[0] != -1 || a[1] != 7 {
		t.Errorf("tensor a = %v, %v", a, err)
	}
	if f.Meta["k"] != "v" {
		t.Errorf("metadata = %v", f.Meta)
	}
	for _, tc := range []struct {
		name  string
		get   func() error
		wants string
	}{
		{"missing", func() error { _, err := f.tensorF32("zz"); return err }, "missing tensor zz"},
		{"dtype", func() error { _, err := f.tensorF32("a", 2); return err }, "tensor a: dtype I32, want F32"},
		{"shape", func() error { _, err := f.tensorF32("b", 3, 2); return err }, "tensor b: shape [2 3], want [3 2]"},
	} {
		t.Run(tc.name, func(t *testing.T) {
			err := tc.get()
			if err == nil || !strings.Contains(err.Error(), tc.wants) {
				t.Errorf("error = %v, want it to contain %q", err, tc.wants)
			}
		})
	}
}

// withHeader builds a file from a raw header and data section.
func withHeader(hdr string, body []byte) []byte {
	out := make([]byte, 8, 8+len(hdr)+len(body))
	binary.LittleEndian.PutUint64(out, uint64(len(hdr)))
	out = append(out, hdr...)
	return append(out, body...)
}

func TestSafetensorsCorrupt(t *testing.T) {
	good := stFixture(t)
	body8 := make([]byte, 8)
	for _, tc := range []struct {
		name  string
		data  []byte
		wants string
	}{
		{"empty", nil, "truncated file"},
		{"truncated data", good[:len(good)-4], "tensor b"},
		{"truncated header", good[:20], "header length"},
		{"huge header length", withHeader("", nil)[:8:8], ""},
		{"bad json", withHeader("{nope", nil), "bad header"},
		{"bad dtype", withHeader(`{"x":{"dtype":"F16","shape":[2],"data_offsets":[0,4]}}`, body8[:4]), `tensor x: dtype "F16"`},
		{"offsets vs shape", withHeader(`{"x":{"dtype":"F32","shape":[3],"data_offsets":[0,8]}}`, body8), "tensor x: data offsets [0, 8] hold 8 bytes, shape [3] needs 12"},
		{"offsets outside", withHeader(`{"x":{"dtype":"F32","shape":[4],"data_offsets":[0,16]}}`, body8), "tensor x"},
		{"negative shape", withHeader(`{"x":{"dtype":"F32","shape":[-2],"data_offsets":[0,8]}}`, body8), "tensor x: bad shape"},
		{"overlap", withHeader(`{"x":{"dtype":"F32","shape":[2],"data_offsets":[0,8]},"y":{"dtype":"F32","shape":[1],"data_offsets":[4,8]}}`, body8), "overlap"},
		{"gap", withHeader(`{"x":{"dtype":"F32","shape":[1],"data_offsets":[4,8]}}`, body8), "tensor x"},
		{"trailing bytes", withHeader(`{"x":{"dtype":"F32","shape":[1],"data_offsets":[0,4]}}`, body8), "data section has 8 bytes"},
		{"unknown field", withHeader(`{"x":{"dtype":"F32","shape":[1],"data_offsets":[0,4],"z":1}}`, body8[:4]), "tensor x: bad header entry"},
		{"bad metadata", withHeader(`{"__metadata__":{"a":1}}`, nil), "__metadata__"},
		{"shape overflow", withHeader(`{"x":{"dtype":"F32","shape":[2147483647,2147483647,2147483647],"data_offsets":[0,8]}}`, body8), "tensor x"},
	} {
		t.Run(tc.name, func(t *testing.T) {
			data := tc.data
			if tc.name == "huge header length" {
				data = make([]byte, 16)
				binary.LittleEndian.PutUint64(data, 1<<62)
			}
			_, err := parseSafetensors(data)
			if err == nil {
				t.Fatalf("parseSafetensors(%s): no error", tc.name)
			}
			if !strings.Contains(err.Error(), tc.wants) {
				t.Errorf("error = %v, want it to contain %q", err, tc.wants)
			}
		})
	}
}

func FuzzParseSafetensors(f *testing.F) {
	f.Add(stFixture(f))
	f.Add(withHeader(`{"x":{"dtype":"F32","shape":[1],"data_offsets":[0,4]}}`, make([]byte, 4)))
	f.Add([]byte{})
	f.Fuzz(func(t *testing.T, data []byte) {
		st, err := parseSafetensors(data)
		if err != nil {
			return
		}
		for name, ts := range st.Tensors {
			if ts.elems() != len(ts.F32)+len(ts.I32) {
				t.Fatalf("tensor %s: %d elements for shape %v", name, len(ts.F32)+len(ts.I32), ts.Shape)
			}
		}
	})
}
