package reports

import (
	"bytes"
	"fmt"
	"html"
	"math"
	"time"
)

// Plot geometry, in SVG user units.
const (
	plotW, plotH                          = 800, 360
	marginL, marginR, marginT, marginB    = 56, 56, 48, 64
	innerW, innerH                        = plotW - marginL - marginR, plotH - marginT - marginB
	barColour, lineColour, targetColour   = "#4e79a7", "#e15759", "#59a14f"
	axisColour, gridColour, labelFontSize = "#333", "#ddd", 11
	maxXLabels                            = 12
	plotFont                              = "font-family=\"sans-serif\""
)

// PlotQueue draws a queue's rows (one interval each, in time order) as an
// SVG: calls offered as bars on the left axis, the service level as a line
// on the right axis (0–100 %, broken where an interval had no calls), and
// the target as a dashed line when target > 0. Self-drawn: no dependency,
// and the output is the same for the same rows.
func PlotQueue(title string, rows []QueueRow, interval Interval, target float64) []byte {
	var b bytes.Buffer
	fmt.Fprintf(&b, `<svg xmlns="http://www.w3.org/2000/svg" width="%d" height="%d" viewBox="0 0 %d %d" %s font-size="%d">`+"\n",
		plotW, plotH, plotW, plotH, plotFont, labelFontSize)
	fmt.Fprintf(&b, `<title>%s</title>`+"\n", html.EscapeString(title))
	fmt.Fprintf(&b, `<rect width="%d" height="%d" fill="#fff"/>`+"\n", plotW, plotH)
	fmt.Fprintf(&b, `<text x="%d" y="20" font-size="14" font-weight="bold">%s</text>`+"\n", marginL, html.EscapeString(title))

	peak := 0
	for _, r := range rows {
		peak = max(peak, r.Offered)
	}
	top, step := niceScale(peak)
	y := func(v float64) float64 { return marginT + innerH - v/float64(top)*innerH }
	ySL := func(pct float64) float64 { return marginT + innerH - pct/100*innerH }

	// Grid and left axis (calls).
	for v := 0; v <= top; v += step {
		fmt.Fprintf(&b, `<line x1="%d" y1="%.1f" x2="%d" y2="%.1f" stroke="%s"/>`+"\n", marginL, y(float64(v)), marginL+innerW, y(float64(v)), gridColour)
		fmt.Fprintf(&b, `<text x="%d" y="%.1f" text-anchor="end" dominant-baseline="middle">%d</text>`+"\n", marginL-6, y(float64(v)), v)
	}
	fmt.Fprintf(&b, `<text transform="translate(14 %d) rotate(-90)" text-anchor="middle">calls offered</text>`+"\n", marginT+innerH/2)
	// Right axis (service level).
	for pct := 0; pct <= 100; pct += 20 {
		fmt.Fprintf(&b, `<text x="%d" y="%.1f" dominant-baseline="middle">%d %%</text>`+"\n", marginL+innerW+6, ySL(float64(pct)), pct)
	}
	fmt.Fprintf(&b, `<text transform="translate(%d %d) rotate(90)" text-anchor="middle">service level</text>`+"\n", plotW-12, marginT+innerH/2)

	// Bars.
	n := max(len(rows), 1)
	slot := float64(innerW) / float64(n)
	barW := math.Max(slot*0.7, 1)
	xMid := func(i int) float64 { return marginL + slot*(float64(i)+0.5) }
	b.WriteString(`<g fill="` + barColour + `">` + "\n")
	for i, r := range rows {
		if r.Offered == 0 {
			continue
		}
		fmt.Fprintf(&b, `<rect x="%.1f" y="%.1f" width="%.1f" height="%.1f"><title>%s: %d offered, %d answered, %d abandoned</title></rect>`+"\n",
			xMid(i)-barW/2, y(float64(r.Offered)), barW, float64(marginT+innerH)-y(float64(r.Offered)),
			html.EscapeString(periodLabel(r.Start, interval, true)), r.Offered, r.Answered, r.Abandoned)
	}
	b.WriteString("</g>\n")

	// Target line.
	if target > 0 {
		fmt.Fprintf(&b, `<line x1="%d" y1="%.1f" x2="%d" y2="%.1f" stroke="%s" stroke-dasharray="6 4"/>`+"\n",
			marginL, ySL(target), marginL+innerW, ySL(target), targetColour)
	}
	// Service level line, a new segment after each interval without calls.
	var path bytes.Buffer
	pen := false
	for i, r := range rows {
		if r.ServiceLevel == nil {
			pen = false
			continue
		}
		cmd := "L"
		if !pen {
			cmd = "M"
		}
		fmt.Fprintf(&path, "%s%.1f %.1f ", cmd, xMid(i), ySL(*r.ServiceLevel))
		pen = true
	}
	if path.Len() > 0 {
		fmt.Fprintf(&b, `<path d="%s" fill="none" stroke="%s" stroke-width="2"/>`+"\n", bytes.TrimSpace(path.Bytes()), lineColour)
		for i, r := range rows {
			if r.ServiceLevel != nil {
				fmt.Fprintf(&b, `<circle cx="%.1f" cy="%.1f" r="2.5" fill="%s"/>`+"\n", xMid(i), ySL(*r.ServiceLevel), lineColour)
			}
		}
	}

	// X axis and labels (at most maxXLabels of them).
	fmt.Fprintf(&b, `<line x1="%d" y1="%d" x2="%d" y2="%d" stroke="%s"/>`+"\n", marginL, marginT+innerH, marginL+innerW, marginT+innerH, axisColour)
	fmt.Fprintf(&b, `<line x1="%d" y1="%d" x2="%d" y2="%d" stroke="%s"/>`+"\n", marginL, marginT, marginL, marginT+innerH, axisColour)
	every := (len(rows) + maxXLabels - 1) / maxXLabels
	for i, r := range rows {
		if every == 0 || i%every != 0 {
			continue
		}
		fmt.Fprintf(&b, `<text x="%.1f" y="%d" text-anchor="middle">%s</text>`+"\n", xMid(i), marginT+innerH+16,
			html.EscapeString(periodLabel(r.Start, interval, false)))
	}
	if len(rows) > 0 {
		fmt.Fprintf(&b, `<text x="%d" y="%d" text-anchor="middle">%s to %s</text>`+"\n", marginL+innerW/2, plotH-14,
			html.EscapeString(rows[0].Start.Format("2006-01-02 15:04 MST")), html.EscapeString(rows[len(rows)-1].End.Format("2006-01-02 15:04 MST")))
	}

	// Legend.
	lx := marginL + innerW - 330
	fmt.Fprintf(&b, `<rect x="%d" y="28" width="12" height="10" fill="%s"/><text x="%d" y="37">calls offered</text>`+"\n", lx, barColour, lx+16)
	fmt.Fprintf(&b, `<line x1="%d" y1="33" x2="%d" y2="33" stroke="%s" stroke-width="2"/><text x="%d" y="37">service level</text>`+"\n", lx+110, lx+126, lineColour, lx+130)
	if target > 0 {
		fmt.Fprintf(&b, `<line x1="%d" y1="33" x2="%d" y2="33" stroke="%s" stroke-dasharray="6 4"/><text x="%d" y="37">target %g %%</text>`+"\n", lx+220, lx+236, targetColour, lx+240, target)
	}
	b.WriteString("</svg>\n")
	return b.Bytes()
}

// niceScale returns an axis top of at least peak (and 1) and a step of
// 1, 2 or 5 × a power of ten giving four to ten grid lines.
func niceScale(peak int) (top, step int) {
	if peak < 1 {
		peak = 1
	}
	for pow := 1; ; pow *= 10 {
		for _, m := range []int{1, 2, 5} {
			if s := m * pow; (peak+s-1)/s <= 8 {
				step = s
				top = (peak + s - 1) / s * s
				return top, step
			}
		}
	}
}

// periodLabel names an interval on the x axis ("09:00", "Mon 02 Jan") or
// in full for a tooltip.
func periodLabel(t time.Time, interval Interval, full bool) string {
	switch {
	case full && interval == IntervalHour:
		return t.Format("2006-01-02 15:04")
	case full:
		return t.Format("2006-01-02")
	case interval == IntervalHour:
		return t.Format("15:04")
	}
	return t.Format("Jan 02")
}
