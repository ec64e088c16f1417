#!/bin/bash
# Refreshes docs/conformance/labels.tsv, the repository's copy of the label list of
# the two spec checklists (which live outside the repository, so a fresh clone can
# still check and generate the conformance matrix). Run it by hand when a checklist
# changes, then `make conformance`:
#   scripts/conformance-labels.sh ../shared/spec-checklist.md \
#       ../shared/spec-checklist-pci-mmio.md > docs/conformance/labels.tsv
# A label is the first cell of a checklist table row (`| D-BLK-14 | MUST | ...`);
# a source cell "same" repeats the row above. Columns: label, kind, requirement,
# spec source, checklist section.
set -eu
[ $# -ge 1 ] || { echo "usage: $0 CHECKLIST.md..." >&2; exit 2; }
printf '# label\tkind\trequirement\tsource\tsection\n'
exec perl -e '
	use strict;
	use warnings;
	my ($section, $source) = ("", "");
	while (my $line = <>) {
		chomp $line;
		if ($line =~ /^###\s+(.*)/) { $section = $1; $source = ""; next; }
		next unless $line =~ /^\|\s*([DR]-[A-Z]+(?:-[A-Z]+)*-\d+)\s*\|/;
		my @cell = map { s/^\s+|\s+$//gr } split /\|/, $line;
		shift @cell;    # the empty cell before the first bar
		my ($label, $kind, $text, $src) = @cell[0 .. 3];
		$src = $source if $src =~ /^same\b/;
		$source = $src;
		for ($text, $src, $section) { s/\t/ /g; }
		print join("\t", $label, $kind, $text, $src, $section), "\n";
	}
' "$@"
