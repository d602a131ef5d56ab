#!/bin/sh
# The oracle of the pigz scenario: verify.sh INPUT OUTPUT.gz. gzip (its own
# inflate and CRC-32, not zlib's) checks the stored CRC-32 and length, then
# the data must equal the input. Exit 0 = correct; one line on stderr
# (where patchvet shows a failed oracle's first line).
[ $# -eq 2 ] || { echo "usage: verify.sh INPUT OUTPUT.gz" >&2; exit 2; }
[ -s "$2" ] || { echo "pigz oracle: $2 is missing or empty"; exit 1; }
if ! msg=$(gzip -t "$2" 2>&1); then
	echo "pigz oracle: gzip -t rejects $2: $(printf "%s" "$msg" | tr "\n" " ")" >&2
	exit 1
fi
if ! gzip -dc "$2" | cmp -s - "$1"; then
	echo "pigz oracle: the data of $2 differs from $1" >&2
	exit 1
fi
echo "pigz oracle: $2 passes gzip -t and decompresses to $1" >&2
exit 0
