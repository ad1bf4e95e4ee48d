package model

import (
	"bufio"
	"bytes"
	"encoding/binary"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"math"
	"os"
	"slices"
	"sort"

	"github.com/cgbench/cgbench/datasets"
)

// The safetensors format: an 8-byte little-endian header length N, N bytes
// of JSON mapping tensor names to {"dtype", "shape", "data_offsets"} (plus an
// optional "__metadata__" string map), padded with spaces to a multiple of 8,
// then the tensors' raw little-endian bytes. Only F32 and I32 tensors are
// used here.

const (
	dtypeF32 = "F32"
	dtypeI32 = "I32"
	// maxHeaderBytes bounds the JSON header so that a corrupt length field
	// cannot make the reader allocate gigabytes.
	maxHeaderBytes = 64 << 20
	metadataKey    = "__metadata__"
)

// stTensor is one tensor of a safetensors file; exactly one of F32 and I32
// is set, by DType.
type stTensor struct {
	Name  string
	DType string
	Shape []int
	F32   []float32
	I32   []int32
}

// elems returns the product of the shape.
func (t *stTensor) elems() int {
	n := 1
	for _, s := range t.Shape {
		n *= s
	}
	return n
}

// stHeaderEntry is a tensor's entry in the JSON header.
type stHeaderEntry struct {
	DType       string   `json:"dtype"`
	Shape       []int    `json:"shape"`
	DataOffsets [2]int64 `json:"data_offsets"`
}

// writeSafetensors writes tensors (in name order) and metadata to path
// atomically. It panics on a tensor whose data does not match its shape.
func writeSafetensors(path string, tensors []stTensor, meta map[string]string) error {
	ts := slices.Clone(tensors)
	sort.Slice(ts, func(i, j int) bool { return ts[i].Name < ts[j].Name })
	header := make(map[string]any, len(ts)+1)
	if len(meta) > 0 {
		header[metadataKey] = meta
	}
	var off int64
	for i := range ts {
		t := &ts[i]
		if t.Name == metadataKey || (i > 0 && ts[i-1].Name == t.Name) {
			panic("model: bad or duplicate tensor name " + t.Name)
		}
		n := t.elems()
		switch t.DType {
		case dtypeF32:
			if len(t.F32) != n {
				panic(fmt.Sprintf("model: tensor %s has %d values for shape %v", t.Name, len(t.F32), t.Shape))
			}
		case dtypeI32:
			if len(t.I32) != n {
				panic(fmt.Sprintf("model: tensor %s has %d values for shape %v", t.Name, len(t.I32), t.Shape))
			}
		default:
			panic("model: unsupported dtype " + t.DType)
		}
		shape := t.Shape
		if shape == nil {
			shape = []int{}
		}
		header[t.Name] = stHeaderEntry{DType: t.DType, Shape: shape, DataOffsets: [2]int64{off, off + 4*int64(n)}}
		off += 4 * int64(n)
	}
	js, err := json.Marshal(header)
	if err != nil {
		return fmt.Errorf("encode %s header: %w", path, err)
	}
	for len(js)%8 != 0 {
		js = append(js, ' ')
	}
	return datasets.WriteFileAtomic(path, func(w io.Writer) error {
		bw := bufio.NewWriterSize(w, 1<<20)
		var n8 [8]byte
		binary.LittleEndian.PutUint64(n8[:], uint64(len(js)))
		if _, err := bw.Write(n8[:]); err != nil {
			return err
		}
		if _, err := bw.Write(js); err != nil {
			return err
		}
		var b4 [4]byte
		for i := range ts {
			t := &ts[i]
			if t.DType == dtypeF32 {
				for _, v := range t.F32 {
					binary.LittleEndian.PutUint32(b4[:], math.Float32bits(v))
					bw.Write(b4[:])
				}
			} else {
				for _, v := range t.I32 {
					binary.LittleEndian.PutUint32(b4[:], uint32(v))
					bw.Write(b4[:])
				}
			}
		}
		return bw.Flush()
	})
}

// stFile is a parsed safetensors file.
type stFile struct {
	Path    string
	Meta    map[string]string
	Tensors map[string]*stTensor
}

// readSafetensors reads and validates a whole safetensors file.
func readSafetensors(path string) (*stFile, error) {
	data, err := os.ReadFile(path)
	if err != nil {
		return nil, fmt.Errorf("read safetensors: %w", err)
	}
	f, err := parseSafetensors(data)
	if err != nil {
		return nil, fmt.Errorf("read %s: %w", path, err)
	}
	f.Path = path
	return f, nil
}

// parseSafetensors parses a whole file's bytes. Any inconsistency (a short
// file, bad JSON, an unknown dtype, offsets that do not match the shape or
// overlap or leave gaps) is an error naming the tensor; it never panics.
func parseSafetensors(data []byte) (*stFile, error) {
	entries, meta, body, err := parseSafetensorsHeader(data)
	if err != nil {
		return nil, err
	}
	f := &stFile{Meta: meta, Tensors: make(map[string]*stTensor, len(entries))}
	for name, e := range entries {
		t := &stTensor{Name: name, DType: e.DType, Shape: e.Shape}
		raw := body[e.DataOffsets[0]:e.DataOffsets[1]]
		n := len(raw) / 4
		if e.DType == dtypeF32 {
			t.F32 = make([]float32, n)
			for i := range t.F32 {
				t.F32[i] = math.Float32frombits(binary.LittleEndian.Uint32(raw[4*i:]))
			}
		} else {
			t.I32 = make([]int32, n)
			for i := range t.I32 {
				t.I32[i] = int32(binary.LittleEndian.Uint32(raw[4*i:]))
			}
		}
		f.Tensors[name] = t
	}
	return f, nil
}

// parseSafetensorsHeader validates the header of a whole file and returns its
// entries, its metadata and the data section.
func parseSafetensorsHeader(data []byte) (map[string]stHeaderEntry, map[string]string, []byte, error) {
	if len(data) < 8 {
		return nil, nil, nil, fmt.Errorf("truncated file: %d bytes, want at least 8", len(data))
	}
	n := binary.LittleEndian.Uint64(data[:8])
	if n > maxHeaderBytes || n > uint64(len(data)-8) {
		return nil, nil, nil, fmt.Errorf("truncated file or bad header length: header of %d bytes in a file of %d", n, len(data))
	}
	hdr := data[8 : 8+n]
	body := data[8+n:]
	var raw map[string]json.RawMessage
	if err := json.Unmarshal(hdr, &raw); err != nil {
		return nil, nil, nil, fmt.Errorf("bad header: %w", err)
	}
	var meta map[string]string
	if m, ok := raw[metadataKey]; ok {
		if err := json.Unmarshal(m, &meta); err != nil {
			return nil, nil, nil, fmt.Errorf("bad header: %s: %w", metadataKey, err)
		}
		delete(raw, metadataKey)
	}
	entries := make(map[string]stHeaderEntry, len(raw))
	type span struct {
		name       string
		begin, end int64
	}
	spans := make([]span, 0, len(raw))
	// Check the entries in name order so that a corrupt file always gets
	// the same error.
	names := make([]string, 0, len(raw))
	for name := range raw {
		names = append(names, name)
	}
	sort.Strings(names)
	for _, name := range names {
		msg := raw[name]
		var e stHeaderEntry
		dec := json.NewDecoder(bytes.NewReader(msg))
		dec.DisallowUnknownFields()
		if err := dec.Decode(&e); err != nil {
			return nil, nil, nil, fmt.Errorf("tensor %s: bad header entry: %w", name, err)
		}
		if e.DType != dtypeF32 && e.DType != dtypeI32 {
			return nil, nil, nil, fmt.Errorf("tensor %s: dtype %q, want %q or %q", name, e.DType, dtypeF32, dtypeI32)
		}
		elems := int64(1)
		for _, s := range e.Shape {
			if s < 0 || s > math.MaxInt32 {
				return nil, nil, nil, fmt.Errorf("tensor %s: bad shape %v", name, e.Shape)
			}
			elems *= int64(s)
			if elems > int64(len(body)) {
				return nil, nil, nil, fmt.Errorf("tensor %s: shape %v needs more bytes than the file's %d", name, e.Shape, len(body))
			}
		}
		b, en := e.DataOffsets[0], e.DataOffsets[1]
		if b < 0 || en < b || en > int64(len(body)) {
			return nil, nil, nil, fmt.Errorf("tensor %s: data offsets [%d, %d] outside the data section of %d bytes (truncated file?)", name, b, en, len(body))
		}
		if en-b != 4*elems {
			return nil, nil, nil, fmt.Errorf("tensor %s: data offsets [%d, %d] hold %d bytes, shape %v needs %d", name, b, en, en-b, e.Shape, 4*elems)
		}
		entries[name] = e
		spans = append(spans, span{name, b, en})
	}
	sort.Slice(spans, func(i, j int) bool {
		if spans[i].begin != spans[j].begin {
			return spans[i].begin < spans[j].begin
		}
		return spans[i].name < spans[j].name
	})
	var pos int64
	for _, s := range spans {
		if s.begin != pos {
			return nil, nil, nil, fmt.Errorf("tensor %s: data offsets [%d, %d] overlap or leave a gap after byte %d", s.name, s.begin, s.end, pos)
		}
		pos = s.end
	}
	if pos != int64(len(body)) {
		return nil, nil, nil, fmt.Errorf("data section has %d bytes, tensors cover %d", len(body), pos)
	}
	return entries, meta, body, nil
}

// tensorF32 returns the named F32 tensor of f with the wanted shape, or an
// error naming the file and tensor.
func (f *stFile) tensorF32(name string, shape ...int) ([]float32, error) {
	t, err := f.tensor(name, dtypeF32, shape)
	if err != nil {
		return nil, err
	}
	return t.F32, nil
}

// tensorI32 is tensorF32 for I32 tensors.
func (f *stFile) tensorI32(name string, shape ...int) ([]int32, error) {
	t, err := f.tensor(name, dtypeI32, shape)
	if err != nil {
		return nil, err
	}
	return t.I32, nil
}

func (f *stFile) tensor(name, dtype string, shape []int) (*stTensor, error) {
	t, ok := f.Tensors[name]
	if !ok {
		return nil, fmt.Errorf("read %s: missing tensor %s", f.Path, name)
	}
	if t.DType != dtype {
		return nil, fmt.Errorf("read %s: tensor %s: dtype %s, want %s", f.Path, name, t.DType, dtype)
	}
	if shape != nil && !slices.Equal(t.Shape, shape) {
		return nil, fmt.Errorf("read %s: tensor %s: shape %v, want %v (config mismatch?)", f.Path, name, t.Shape, shape)
	}
	return t, nil
}

var errNoMeta = errors.New("missing metadata")

// metaInt reads an integer metadata entry.
func (f *stFile) metaInt(key string) (int64, error) {
	s, ok := f.Meta[key]
	if !ok {
		return 0, fmt.Errorf("read %s: %w %q", f.Path, errNoMeta, key)
	}
	var v int64
	if _, err := fmt.Sscan(s, &v); err != nil {
		return 0, fmt.Errorf("read %s: metadata %q = %q: %w", f.Path, key, s, err)
	}
	return v, nil
}
