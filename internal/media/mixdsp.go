package media

import "github.com/switchboard/switchboard/internal/media/g711"

// The mixer's per-frame arithmetic. Sums are int32 (up to 65,536
// full-scale int16 inputs fit), saturated to int16 only when encoding.
// The loops work on eight samples at a time through re-sliced views: the
// compiler then drops the bounds and nil checks and the loop overhead is
// paid once per eight samples, which halves the cost of a plain loop
// (BenchmarkMixerFrame). frameSamples is a multiple of eight.

// widenFrame sets acc to f.
func widenFrame(acc *[frameSamples]int32, f *[frameSamples]int16) {
	a, s := acc[:], f[:]
	for len(a) >= 8 && len(s) >= 8 {
		a[0], a[1], a[2], a[3] = int32(s[0]), int32(s[1]), int32(s[2]), int32(s[3])
		a[4], a[5], a[6], a[7] = int32(s[4]), int32(s[5]), int32(s[6]), int32(s[7])
		a, s = a[8:], s[8:]
	}
}

// addFrame adds f to acc.
func addFrame(acc *[frameSamples]int32, f *[frameSamples]int16) {
	a, s := acc[:], f[:]
	for len(a) >= 8 && len(s) >= 8 {
		a[0] += int32(s[0])
		a[1] += int32(s[1])
		a[2] += int32(s[2])
		a[3] += int32(s[3])
		a[4] += int32(s[4])
		a[5] += int32(s[5])
		a[6] += int32(s[6])
		a[7] += int32(s[7])
		a, s = a[8:], s[8:]
	}
}

// subFrame subtracts f from acc.
func subFrame(acc *[frameSamples]int32, f *[frameSamples]int16) {
	a, s := acc[:], f[:]
	for len(a) >= 8 && len(s) >= 8 {
		a[0] -= int32(s[0])
		a[1] -= int32(s[1])
		a[2] -= int32(s[2])
		a[3] -= int32(s[3])
		a[4] -= int32(s[4])
		a[5] -= int32(s[5])
		a[6] -= int32(s[6])
		a[7] -= int32(s[7])
		a, s = a[8:], s[8:]
	}
}

// encodeSat encodes acc into dst (frameSamples bytes), saturated.
func encodeSat(dst []byte, acc *[frameSamples]int32, alaw bool) {
	d, a := dst[:frameSamples], acc[:]
	if alaw {
		for len(d) >= 4 && len(a) >= 4 {
			d[0] = g711.LinearToALaw(g711.Saturate(a[0]))
			d[1] = g711.LinearToALaw(g711.Saturate(a[1]))
			d[2] = g711.LinearToALaw(g711.Saturate(a[2]))
			d[3] = g711.LinearToALaw(g711.Saturate(a[3]))
			d, a = d[4:], a[4:]
		}
		return
	}
	for len(d) >= 4 && len(a) >= 4 {
		d[0] = g711.LinearToULaw(g711.Saturate(a[0]))
		d[1] = g711.LinearToULaw(g711.Saturate(a[1]))
		d[2] = g711.LinearToULaw(g711.Saturate(a[2]))
		d[3] = g711.LinearToULaw(g711.Saturate(a[3]))
		d, a = d[4:], a[4:]
	}
}

// encodeDiff encodes total minus self into dst in one pass: the
// "everyone but me" mix, with no intermediate frame.
func encodeDiff(dst []byte, total *[frameSamples]int32, self *[frameSamples]int16, alaw bool) {
	if alaw {
		encodeDiffA(dst, total, self)
		return
	}
	d, t, s := dst[:frameSamples], total[:], self[:]
	for len(d) >= 4 && len(t) >= 4 && len(s) >= 4 {
		d[0] = g711.LinearToULaw(g711.Saturate(t[0] - int32(s[0])))
		d[1] = g711.LinearToULaw(g711.Saturate(t[1] - int32(s[1])))
		d[2] = g711.LinearToULaw(g711.Saturate(t[2] - int32(s[2])))
		d[3] = g711.LinearToULaw(g711.Saturate(t[3] - int32(s[3])))
		d, t, s = d[4:], t[4:], s[4:]
	}
}

func encodeDiffA(dst []byte, total *[frameSamples]int32, self *[frameSamples]int16) {
	d, t, s := dst[:frameSamples], total[:], self[:]
	for len(d) >= 4 && len(t) >= 4 && len(s) >= 4 {
		d[0] = g711.LinearToALaw(g711.Saturate(t[0] - int32(s[0])))
		d[1] = g711.LinearToALaw(g711.Saturate(t[1] - int32(s[1])))
		d[2] = g711.LinearToALaw(g711.Saturate(t[2] - int32(s[2])))
		d[3] = g711.LinearToALaw(g711.Saturate(t[3] - int32(s[3])))
		d, t, s = d[4:], t[4:], s[4:]
	}
}

// fillSilence writes a frame of digital silence in the given law.
func fillSilence(dst []byte, alaw bool) {
	b := g711.ULawSilence
	if alaw {
		b = g711.ALawSilence
	}
	for i := range dst {
		dst[i] = b
	}
}
