package permissions

import (
	"math/bits"
	"unsafe"
)

// bitset is a set of small integers: permission paths or patterns, roles, features.
// Permission sets are unions of a few precomputed bitsets, which keeps the per-user work
// of a 100,000-user platform to a handful of word operations.
type bitset []uint64

func newBitset(n int) bitset { return make(bitset, (n+63)/64) }

// newBitsets returns count empty sets of n bits sharing one allocation: compiling a
// platform makes a few sets per path and role, and one allocation each adds up when a
// controller recompiles an organization's subset on every change.
func newBitsets(count, n int) []bitset {
	words := (n + 63) / 64
	backing := make([]uint64, count*words)
	out := make([]bitset, count)
	for i := range out {
		out[i] = backing[i*words : (i+1)*words : (i+1)*words]
	}
	return out
}

func (b bitset) set(i int)      { b[i/64] |= 1 << (uint(i) % 64) }
func (b bitset) has(i int) bool { return i/64 < len(b) && b[i/64]&(1<<(uint(i)%64)) != 0 }

// or adds every member of o to b; b must be at least as long as o.
func (b bitset) or(o bitset) bool {
	changed := false
	for i, w := range o {
		if b[i]|w != b[i] {
			b[i] |= w
			changed = true
		}
	}
	return changed
}

// subsetOf reports whether every member of b is in o.
func (b bitset) subsetOf(o bitset) bool {
	for i, w := range b {
		var ow uint64
		if i < len(o) {
			ow = o[i]
		}
		if w&^ow != 0 {
			return false
		}
	}
	return true
}

func (b bitset) empty() bool {
	for _, w := range b {
		if w != 0 {
			return false
		}
	}
	return true
}

func (b bitset) clone() bitset { return append(bitset(nil), b...) }

// each calls f with every member, in increasing order.
func (b bitset) each(f func(int)) {
	for i, w := range b {
		for w != 0 {
			t := bits.TrailingZeros64(w)
			f(i*64 + t)
			w &= w - 1
		}
	}
}

func (b bitset) count() int {
	n := 0
	for _, w := range b {
		n += bits.OnesCount64(w)
	}
	return n
}

// key is a map key for the set's contents; it aliases b, so use it only for look-ups
// (the compiler does not allocate for m[string(bytes)]), or copy with string(...).
func (b bitset) key() []byte {
	if len(b) == 0 {
		return nil
	}
	return unsafe.Slice((*byte)(unsafe.Pointer(&b[0])), len(b)*8)
}
