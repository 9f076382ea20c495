package probe

import (
	"encoding/binary"
	"errors"
	"math"
	"sort"
	"time"
)

// Sketch is a mergeable latency sketch (the DDSketch idea): latencies fall into logarithmic
// bins, so any quantile is within 2% of the true value, two sketches merge by adding bin counts,
// and a minute of checks encodes in a few bytes. Merging per-minute sketches gives exact-enough
// p50/p95/p99 over any range without keeping the checks themselves.
type Sketch struct {
	bins []bin // sorted by idx
	n    uint64
}

type bin struct {
	idx int32
	n   uint32
}

const sketchAccuracy = 0.02

var (
	sketchGamma    = (1 + sketchAccuracy) / (1 - sketchAccuracy)
	sketchLogGamma = math.Log(sketchGamma)
)

// binOf maps a latency in microseconds (at least 1) to its bin.
func binOf(d time.Duration) int32 {
	us := float64(d) / float64(time.Microsecond)
	if us < 1 {
		us = 1
	}
	return int32(math.Ceil(math.Log(us) / sketchLogGamma))
}

// valueOf is the latency a bin stands for: the middle of its range in relative terms.
func valueOf(idx int32) time.Duration {
	us := 2 * math.Pow(sketchGamma, float64(idx)) / (sketchGamma + 1)
	return time.Duration(us * float64(time.Microsecond))
}

// Add counts one latency.
func (s *Sketch) Add(d time.Duration) { s.addBin(binOf(d), 1) }

func (s *Sketch) addBin(idx int32, n uint32) {
	s.n += uint64(n)
	i := sort.Search(len(s.bins), func(i int) bool { return s.bins[i].idx >= idx })
	if i < len(s.bins) && s.bins[i].idx == idx {
		s.bins[i].n += n
		return
	}
	s.bins = append(s.bins, bin{})
	copy(s.bins[i+1:], s.bins[i:])
	s.bins[i] = bin{idx: idx, n: n}
}

// Merge adds o's counts to s.
func (s *Sketch) Merge(o *Sketch) {
	if len(o.bins) == 0 {
		return
	}
	if len(s.bins) == 0 {
		s.bins = append(s.bins[:0], o.bins...)
		s.n = o.n
		return
	}
	// Merge in place from the back, so summing many sketches into one allocates only when the
	// union grows.
	union := len(s.bins)
	for i, j := 0, 0; j < len(o.bins); {
		switch {
		case i == len(s.bins) || o.bins[j].idx < s.bins[i].idx:
			union++
			j++
		case s.bins[i].idx < o.bins[j].idx:
			i++
		default:
			i++
			j++
		}
	}
	i, j := len(s.bins)-1, len(o.bins)-1
	s.bins = append(s.bins, make([]bin, union-len(s.bins))...)
	for k := union - 1; j >= 0; k-- {
		switch {
		case i < 0 || o.bins[j].idx > s.bins[i].idx:
			s.bins[k] = o.bins[j]
			j--
		case s.bins[i].idx > o.bins[j].idx:
			s.bins[k] = s.bins[i]
			i--
		default:
			s.bins[k] = bin{idx: s.bins[i].idx, n: s.bins[i].n + o.bins[j].n}
			i--
			j--
		}
	}
	s.n += o.n
}

// Count is how many latencies the sketch holds.
func (s *Sketch) Count() uint64 { return s.n }

// Quantile returns the latency below which a fraction q of the counted latencies fall; 0 when
// the sketch is empty.
func (s *Sketch) Quantile(q float64) time.Duration {
	if s.n == 0 {
		return 0
	}
	rank := uint64(q * float64(s.n-1))
	var seen uint64
	for _, b := range s.bins {
		seen += uint64(b.n)
		if seen > rank {
			return valueOf(b.idx)
		}
	}
	return valueOf(s.bins[len(s.bins)-1].idx)
}

// AppendBinary encodes the sketch: the number of bins, then each bin's index as a delta from the
// previous one and its count, all varints.
func (s *Sketch) AppendBinary(b []byte) []byte {
	b = binary.AppendUvarint(b, uint64(len(s.bins)))
	prev := int32(0)
	for _, x := range s.bins {
		b = binary.AppendVarint(b, int64(x.idx-prev))
		b = binary.AppendUvarint(b, uint64(x.n))
		prev = x.idx
	}
	return b
}

var errSketch = errors.New("probe: corrupt latency sketch")

// decodeSketch reads a sketch written by AppendBinary and returns the bytes after it.
func decodeSketch(b []byte, s *Sketch) ([]byte, error) {
	n, k := binary.Uvarint(b)
	if k <= 0 || n > 1<<16 {
		return nil, errSketch
	}
	b = b[k:]
	s.bins, s.n = s.bins[:0], 0
	prev := int64(0)
	for i := uint64(0); i < n; i++ {
		d, k := binary.Varint(b)
		if k <= 0 {
			return nil, errSketch
		}
		b = b[k:]
		c, k := binary.Uvarint(b)
		if k <= 0 || c > math.MaxUint32 {
			return nil, errSketch
		}
		b = b[k:]
		prev += d
		if prev < math.MinInt32 || prev > math.MaxInt32 || (i > 0 && d <= 0) {
			return nil, errSketch
		}
		s.bins = append(s.bins, bin{idx: int32(prev), n: uint32(c)})
		s.n += c
	}
	return b, nil
}
