#!/usr/bin/perl
# Generates the conformance matrix (docs/conformance.md) from the spec-rule labels the
# tests cite, and checks the citations. Only perl-base (essential on Debian) is used.
#
#   scripts/conformance.pl matrix    the matrix on stdout
#   scripts/conformance.pl summary   the totals line README.md carries
#
# Both exit 1 (after printing every problem on stderr) when a test cites a label that
# does not exist, when a label has neither a citing test nor a reason, when a label has
# both, or when the reasons file names an unknown label. See docs/conformance/README.md
# for what counts as a citation.
use strict;
use warnings;

my $LABELS = 'docs/conformance/labels.tsv';
my $REASONS = 'docs/conformance/reasons.tsv';
my @TEST_GLOBS = ('tests/unit/*.c', 'tests/fuzz/*.c', 'tests/cli/*.sh', 'tests/interop/*.sh',
		  'tests/guest/*');
# Groups of the second checklist (transports and vhost-user extensions), totalled apart.
my $EXTENSION = qr/^[DR]-(PCI|MMIO|VU-INFL|VU-IOTLB)$/;
my @REASON_KINDS = ('not applicable', 'not implemented', 'not tested');

# Paths are relative to the repository root, wherever this runs from.
(my $root = $0) =~ s{/?scripts/[^/]+$}{};
chdir(length $root ? $root : ".") or die "$root: $!\n";

my $mode = shift // 'matrix';
die "usage: $0 matrix|summary\n" unless $mode eq 'matrix' || $mode eq 'summary';
my @errors;

sub group_of { return $_[0] =~ s/-\d+$//r; }

# The label list: label -> {kind, text, source}, in checklist order.
my (@order, %label);
open my $lf, '<', $LABELS or die "$LABELS: $!\n";
while (<$lf>) {
	chomp;
	next if /^#/ || !length;
	my ($name, $kind, $text, $source) = split /\t/;
	push @order, $name;
	$label{$name} = {kind => $kind, text => $text, source => $source};
}
close $lf;

# A label token with its shorthands: D-SR-06/07 (a list), D-NET-35..37 (a range).
sub expand_citation {
	my ($group, $first, $tail) = @_;
	my @nums = ($first);
	while ($tail =~ m{(/|\.\.)(\d+)}g) {
		if ($1 eq '/') {
			push @nums, $2;
		} else {
			push @nums, ($nums[-1] + 1) .. $2;
		}
	}
	return map { sprintf '%s-%02d', $group, $_ } @nums;
}

# Citations: label -> { file -> { test name (or '') -> 1 } }.
my %cited;

sub cite {
	my ($file, $line, $test, @names) = @_;
	for my $name (@names) {
		if (!$label{$name}) {
			push @errors, "$file:$line: cites $name, which no checklist defines";
			next;
		}
		$cited{$name}{$file}{$test // ''} = 1;
	}
}

# A C function or shell function starting at column 0 owns the citations inside it and
# those in the comment right above it (no blank line between); the rest are file-wide.
sub scan_file {
	my ($file) = @_;
	my $is_c = $file =~ /\.c$/;
	open my $fh, '<', $file or die "$file: $!\n";
	my ($func, @pending);
	while (my $line = <$fh>) {
		my $head;
		if ($is_c) {
			$head = $1 if $line =~ /^(?:static\s+)?[A-Za-z_][\w\s\*]*?\b(\w+)\s*\([^;]*$/
				      && $line !~ /^(?:if|for|while|switch|return)\b/;
		} else {
			$head = $1 if $line =~ /^(?:function\s+)?([A-Za-z_]\w*)\s*\(\)\s*\{?\s*$/;
		}
		if (defined $head && !defined $func) {
			$func = $head;
			cite($file, $_->[0], $func, @{$_->[1]}) for @pending;
			@pending = ();
		}
		while ($line =~ /\b([DR]-[A-Z]+(?:-[A-Z]+)*)-(\d+)((?:(?:\/|\.\.)\d+)*)/g) {
			my @names = expand_citation($1, $2, $3);
			if (defined $func) {
				cite($file, $., $func, @names);
			} else {
				push @pending, [$., \@names];
			}
		}
		if ($line =~ /^\}/) {
			undef $func;
		} elsif (!defined $func && $line =~ /^\s*$/) {
			cite($file, $_->[0], undef, @{$_->[1]}) for @pending;
			@pending = ();
		}
	}
	cite($file, $_->[0], undef, @{$_->[1]}) for @pending;
	close $fh;
}

for my $pattern (@TEST_GLOBS) {
	for my $file (sort glob $pattern) {
		scan_file($file) if -f $file && $file !~ /\.md$/;
	}
}

# Reasons: one label, a range (D-BLK-23..44) or a whole group (D-PCI-*) per line.
my %reason;
open my $rf, '<', $REASONS or die "$REASONS: $!\n";
while (<$rf>) {
	chomp;
	next if /^\s*(#|$)/;
	my ($what, $why) = split /\t+/, $_, 2;
	my @names;
	if ($what =~ /^([DR]-[A-Z]+(?:-[A-Z]+)*)-\*$/) {
		my $group = $1;
		@names = grep { group_of($_) eq $group } @order;
	} elsif ($what =~ /^([DR]-[A-Z]+(?:-[A-Z]+)*)-(\d+)((?:\.\.\d+)?)$/) {
		@names = expand_citation($1, $2, $3);
	}
	my $kinds = join '|', @REASON_KINDS;
	if (!@names || grep { !$label{$_} } @names) {
		push @errors, "$REASONS:$.: '$what' names no checklist label";
		next;
	}
	if (!defined $why || $why !~ /^(?:$kinds): \S/) {
		push @errors, "$REASONS:$.: the reason must start with one of: "
			      . join(', ', map {"'$_: '"} @REASON_KINDS);
		next;
	}
	for my $name (@names) {
		push @errors, "$REASONS:$.: $name already has a reason" if $reason{$name};
		$reason{$name} = $why;
	}
}
close $rf;

for my $name (@order) {
	if ($cited{$name} && $reason{$name}) {
		push @errors, "$name is cited by a test: remove its reason from $REASONS";
	} elsif (!$cited{$name} && !$reason{$name}) {
		push @errors, "$name has no test citing it and no reason in $REASONS";
	}
}

if (@errors) {
	print STDERR "conformance: $_\n" for @errors;
	exit 1;
}

# Totals: per group, then device side / driver side of the main checklist and the extension.
my (@groups, %tally);
for my $name (@order) {
	my $group = group_of($name);
	push @groups, $group unless $tally{$group};
	my $t = $tally{$group} //= {total => 0, tested => 0, na => 0, ni => 0, nt => 0};
	$t->{total}++;
	if ($cited{$name}) {
		$t->{tested}++;
	} elsif ($reason{$name} =~ /^not applicable/) {
		$t->{na}++;
	} elsif ($reason{$name} =~ /^not implemented/) {
		$t->{ni}++;
	} else {
		$t->{nt}++;
	}
}

sub sum_of {
	my ($filter) = @_;
	my %s = (total => 0, tested => 0, na => 0, ni => 0, nt => 0);
	for my $g (grep { $filter->($_) } @groups) {
		$s{$_} += $tally{$g}{$_} for keys %s;
	}
	return \%s;
}

sub percent {
	my ($t) = @_;
	my $scope = $t->{total} - $t->{na};
	return $scope ? sprintf('%d%%', int(100 * $t->{tested} / $scope)) : '-';
}

my $device = sum_of(sub { $_[0] =~ /^D-/ && $_[0] !~ $EXTENSION });
my $driver = sum_of(sub { $_[0] =~ /^R-/ && $_[0] !~ $EXTENSION });
my $ext = sum_of(sub { $_[0] =~ $EXTENSION });

sub in_scope { return $_[0]{total} - $_[0]{na}; }

if ($mode eq 'summary') {
	printf "Spec conformance ([docs/conformance.md](docs/conformance.md)): device side %d of %d "
	       . "in-scope rules checked by tests (%s), driver side %d of %d (%s); PCI/MMIO/IOTLB/"
	       . "inflight rules: %d of %d.\n",
	       $device->{tested}, in_scope($device), percent($device), $driver->{tested},
	       in_scope($driver), percent($driver), $ext->{tested}, in_scope($ext);
	exit 0;
}

print <<'HEAD';
# Conformance matrix

Generated by `make conformance` (scripts/conformance.pl) from the spec-rule labels the
tests cite; do not edit by hand. `make conformance-check` (part of `make test`) fails
when this file is stale. The labels and their paraphrased requirements come from the
project's two spec checklists (copied in [conformance/labels.tsv](conformance/labels.tsv));
the reasons for rules without a test are in
[conformance/reasons.tsv](conformance/reasons.tsv). What counts as a citation, and how to
refresh the label list: [conformance/README.md](conformance/README.md).

A rule is *tested* when a test names its label; *not applicable* only when Vireo does not
offer the feature the rule is about; *not implemented* when Vireo lacks what the rule
needs (none today: the PCI, MMIO, IOTLB and inflight rules were, until those were
built); *not tested* when the rule holds in the code but no test checks it
yet. In scope = all but *not applicable*.

## Totals

| Group | Rules | Tested | Not applicable | Not implemented | Not tested | Tested / in scope |
|---|---:|---:|---:|---:|---:|---:|
HEAD
for my $g (@groups) {
	my $t = $tally{$g};
	printf "| %s | %d | %d | %d | %d | %d | %s |\n", $g, @{$t}{qw(total tested na ni nt)},
	       percent($t);
}
for my $row (['**Device side**', $device], ['**Driver side**', $driver],
	     ['**PCI/MMIO/IOTLB/inflight**', $ext]) {
	my ($name, $t) = @$row;
	printf "| %s | %d | %d | %d | %d | %d | %s |\n", $name, @{$t}{qw(total tested na ni nt)},
	       percent($t);
}
print "\n(Device and driver side: the main checklist's D-/R- rows; the last line is the\n"
      . "second checklist, PCI, MMIO and the vhost-user IOTLB and inflight extensions.)\n";

sub cell { return $_[0] =~ s/\|/\\|/gr; }

my $current = '';
for my $name (@order) {
	my $group = group_of($name);
	if ($group ne $current) {
		$current = $group;
		print "\n## $group\n\n| Label | Kind | Requirement | Tests or reason |\n|---|---|---|---|\n";
	}
	my $l = $label{$name};
	my $where;
	if ($cited{$name}) {
		my @files;
		for my $file (sort keys %{$cited{$name}}) {
			my @tests = sort grep {length} keys %{$cited{$name}{$file}};
			push @files, @tests ? "$file: " . join(', ', @tests) : $file;
		}
		$where = join '; ', @files;
	} else {
		$where = $reason{$name};
	}
	printf "| %s | %s | %s | %s |\n", $name, $l->{kind}, cell($l->{text}), cell($where);
}
