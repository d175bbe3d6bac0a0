#!/bin/sh
# Regenerates the queue announcements shipped in internal/prompts/wav/
# (SPEC Q5, O3): espeak-ng speaks each text, sox turns it into what the
# media engine plays — 8 kHz, mono, 16-bit PCM WAV — with leading and
# trailing silence trimmed and the level normalised to -3 dBFS.
#
#   apt-get install espeak-ng sox
#   scripts/gen-prompts.sh          # or: go generate ./internal/prompts
#
# The output is ours (espeak-ng's licence covers the program, not the
# speech it produces), so the files carry no third-party licence. Keep the
# set small: the WAVs are embedded in the binary. To change the voice or
# a text, edit below, run this script and commit the WAVs.
set -eu

cd "$(dirname "$0")/../internal/prompts"
out=wav
voice="${PROMPT_VOICE:-en-gb}"
speed="${PROMPT_SPEED:-160}"
tmp=$(mktemp -d)
trap 'rm -rf "$tmp"' EXIT
mkdir -p "$out"
rm -f "$out"/*.wav

say() { # name text
	espeak-ng -v "$voice" -s "$speed" -w "$tmp/$1.raw.wav" "$2"
	# silence 1 0.02 0.5%: drop leading audio below 0.5 % until 20 ms
	# above it; reversed and again for the tail.
	sox -R -D "$tmp/$1.raw.wav" -r 8000 -c 1 -b 16 -e signed-integer "$out/$1.wav" \
		silence 1 0.02 0.5% reverse silence 1 0.02 0.5% reverse norm -3
}

say busy "All our agents are busy. Please hold."
say position "You are caller number"
say more_than_twenty "more than twenty"
say ewt "Your expected waiting time is about"
say minute "minute"
say minutes "minutes"
say more_than_ten_minutes "more than ten minutes"
say press1 "Press 1 to leave a message."
say press2 "Press 2 to be called back."
say leave_message "Please leave your message after the tone."
say callback_thanks "Thank you. We will call you back."
say goodbye "Thank you. Goodbye."

i=1
for w in one two three four five six seven eight nine ten eleven twelve thirteen \
	fourteen fifteen sixteen seventeen eighteen nineteen twenty; do
	say "$(printf 'n%02d' $i)" "$w"
	i=$((i + 1))
done

# The beep before a message: 1 kHz for 400 ms at -9 dBFS, 10 ms fades.
sox -R -D -n -r 8000 -c 1 -b 16 -e signed-integer "$out/tone.wav" synth 0.4 sine 1000 vol -9dB fade t 0.01 0.4 0.01

du -ch "$out"/*.wav | tail -n 1
