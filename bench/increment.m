-- The classic lost-update model: 4 threads each loop t := x; x := (t+1) mod 8
-- and bump a private counter mod 4 on the write.
const N: 4;
type tid: 1..N;
var x: 0..7;
var pc: array[tid] of 0..1;
var t: array[tid] of 0..7;
var c: array[tid] of 0..3;

ruleset i: tid do
  rule "read" pc[i] = 0 ==> begin t[i] := x; pc[i] := 1; end;
  rule "write" pc[i] = 1 ==> begin x := (t[i] + 1) % 8; t[i] := 0; c[i] := (c[i] + 1) % 4; pc[i] := 0; end;
end;

startstate begin
  x := 0;
  for i: tid do pc[i] := 0; t[i] := 0; c[i] := 0; end;
end;
