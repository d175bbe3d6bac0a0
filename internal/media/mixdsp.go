package media

import "github.com/switchboard/switchboard/internal/media/g711"

// The mixer's per-frame arithmetic. Frames are fixed-size arrays so that
// the compiler drops the bounds checks; sums are int32 (up to 65,536
// full-scale int16 inputs fit), saturated to int16 only when encoding.

// widenFrame sets acc to f.
func widenFrame(acc *[frameSamples]int32, f *[frameSamples]int16) {
	for i := range acc {
		acc[i] = int32(f[i])
	}
}

// addFrame adds f to acc.
func addFrame(acc *[frameSamples]int32, f *[frameSamples]int16) {
	for i := range acc {
		acc[i] += int32(f[i])
	}
}

// subFrame subtracts f from acc.
func subFrame(acc *[frameSamples]int32, f *[frameSamples]int16) {
	for i := range acc {
		acc[i] -= int32(f[i])
	}
}

// encodeSat encodes acc into dst (frameSamples bytes), saturated.
func encodeSat(dst []byte, acc *[frameSamples]int32, alaw bool) {
	if alaw {
		g711.EncodeALawSat(dst, acc[:])
		return
	}
	g711.EncodeULawSat(dst, acc[:])
}

// encodeDiff encodes total minus self into dst in one pass: the
// "everyone but me" mix, with no intermediate frame.
func encodeDiff(dst []byte, total *[frameSamples]int32, self *[frameSamples]int16, alaw bool) {
	dst = dst[:frameSamples]
	if alaw {
		for i := range dst {
			dst[i] = g711.LinearToALaw(g711.Saturate(total[i] - int32(self[i])))
		}
		return
	}
	for i := range dst {
		dst[i] = g711.LinearToULaw(g711.Saturate(total[i] - int32(self[i])))
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
