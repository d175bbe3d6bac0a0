// Package g711 converts between 16-bit linear PCM and ITU-T G.711 µ-law and
// A-law. Decoding uses 256-entry tables and encoding 8 KiB tables built at
// init, so a 20 ms frame converts without branches or allocation.
package g711

const (
	ulawBias = 0x84
	ulawClip = 32635
)

var (
	ulawToLinear [256]int16
	alawToLinear [256]int16
	// linear >> 2 (14-bit magnitude) indexed tables: 16384 entries each sign.
	linearToULaw [1 << 14]uint8
	linearToALaw [1 << 13]uint8
)

func init() {
	for i := 0; i < 256; i++ {
		ulawToLinear[i] = decodeULaw(uint8(i))
		alawToLinear[i] = decodeALaw(uint8(i))
	}
	for i := range linearToULaw {
		linearToULaw[i] = encodeULaw(int16((i - (1 << 13)) << 2))
	}
	for i := range linearToALaw {
		linearToALaw[i] = encodeALaw(int16((i - (1 << 12)) << 3))
	}
}

// ULawToLinear decodes one µ-law byte.
func ULawToLinear(b uint8) int16 { return ulawToLinear[b] }

// ALawToLinear decodes one A-law byte.
func ALawToLinear(b uint8) int16 { return alawToLinear[b] }

// LinearToULaw encodes one sample as µ-law.
func LinearToULaw(s int16) uint8 { return linearToULaw[(int(s)>>2)+(1<<13)] }

// LinearToALaw encodes one sample as A-law.
func LinearToALaw(s int16) uint8 { return linearToALaw[(int(s)>>3)+(1<<12)] }

// DecodeULaw decodes src into dst and returns the number of samples written
// (min of both lengths).
func DecodeULaw(dst []int16, src []byte) int {
	n := min(len(dst), len(src))
	for i := 0; i < n; i++ {
		dst[i] = ulawToLinear[src[i]]
	}
	return n
}

// DecodeALaw decodes src into dst and returns the number of samples written.
func DecodeALaw(dst []int16, src []byte) int {
	n := min(len(dst), len(src))
	for i := 0; i < n; i++ {
		dst[i] = alawToLinear[src[i]]
	}
	return n
}

// EncodeULaw encodes src into dst and returns the number of bytes written.
func EncodeULaw(dst []byte, src []int16) int {
	n := min(len(dst), len(src))
	for i := 0; i < n; i++ {
		dst[i] = linearToULaw[(int(src[i])>>2)+(1<<13)]
	}
	return n
}

// EncodeALaw encodes src into dst and returns the number of bytes written.
func EncodeALaw(dst []byte, src []int16) int {
	n := min(len(dst), len(src))
	for i := 0; i < n; i++ {
		dst[i] = linearToALaw[(int(src[i])>>3)+(1<<12)]
	}
	return n
}

// ULawSilence and ALawSilence are the encodings of a zero sample.
const (
	ULawSilence uint8 = 0xFF
	ALawSilence uint8 = 0xD5
)

// encodeULaw is the reference ITU-T G.711 µ-law encoder used to fill the table.
func encodeULaw(sample int16) uint8 {
	s := int(sample)
	sign := 0
	if s < 0 {
		s = -s
		sign = 0x80
	}
	if s > ulawClip {
		s = ulawClip
	}
	s += ulawBias
	exponent := 7
	for mask := 0x4000; s&mask == 0 && exponent > 0; mask >>= 1 {
		exponent--
	}
	mantissa := (s >> (exponent + 3)) & 0x0F
	return ^uint8(sign | exponent<<4 | mantissa)
}

func decodeULaw(b uint8) int16 {
	u := ^b
	sign := u & 0x80
	exponent := int(u>>4) & 0x07
	mantissa := int(u & 0x0F)
	s := ((mantissa << 3) + ulawBias) << exponent
	s -= ulawBias
	if sign != 0 {
		return int16(-s)
	}
	return int16(s)
}

// encodeALaw is the reference ITU-T G.711 A-law encoder used to fill the table.
func encodeALaw(sample int16) uint8 {
	s := int(sample)
	var mask uint8 = 0xD5
	if s < 0 {
		mask = 0x55
		s = -s - 1
	}
	if s > 32767 {
		s = 32767
	}
	var out int
	if s < 256 {
		out = s >> 4
	} else {
		exponent := 7
		for m := 0x4000; s&m == 0 && exponent > 1; m >>= 1 {
			exponent--
		}
		out = exponent<<4 | (s>>(exponent+3))&0x0F
	}
	return uint8(out) ^ mask
}

func decodeALaw(b uint8) int16 {
	a := b ^ 0x55
	exponent := int(a&0x70) >> 4
	mantissa := int(a & 0x0F)
	var s int
	if exponent == 0 {
		s = (mantissa << 4) + 8
	} else {
		s = ((mantissa << 4) + 0x108) << (exponent - 1)
	}
	if a&0x80 != 0 {
		return int16(s)
	}
	return int16(-s)
}

// Saturate clamps a mixed sample to the int16 range, so that loud inputs
// summed together clip instead of wrapping around to the opposite sign.
func Saturate(v int32) int16 { return int16(min(max(v, -32768), 32767)) }

// EncodeULawSat encodes 32-bit mixed samples as µ-law, saturating each to
// the int16 range first, and returns the number of bytes written.
func EncodeULawSat(dst []byte, src []int32) int {
	n := min(len(dst), len(src))
	for i := 0; i < n; i++ {
		dst[i] = linearToULaw[((int(Saturate(src[i]))>>2)+(1<<13))&(1<<14-1)]
	}
	return n
}

// EncodeALawSat encodes 32-bit mixed samples as A-law, saturating each to
// the int16 range first, and returns the number of bytes written.
func EncodeALawSat(dst []byte, src []int32) int {
	n := min(len(dst), len(src))
	for i := 0; i < n; i++ {
		dst[i] = linearToALaw[((int(Saturate(src[i]))>>3)+(1<<12))&(1<<13-1)]
	}
	return n
}
