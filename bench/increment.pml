/* The classic lost-update model: 4 threads each loop t := x; x := (t+1) mod 8
   and bump a private counter mod 4 on the write. */
byte x = 0;

proctype P() {
  byte t = 0;
  byte c = 0;
  do
  :: t = x;
     d_step { x = (t + 1) % 8; t = 0; c = (c + 1) % 4 }
  od
}

init {
  atomic { run P(); run P(); run P(); run P() }
}
