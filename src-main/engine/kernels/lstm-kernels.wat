;; One backward step of the LSTM cell, fused: the ~30 element-wise tensor ops of decoder-train.ts's BPTT step in one
;; pass over tfjs-backend-wasm's own memory (imported: the tensors are read and written where they are). Every lane
;; operation is the same IEEE float32 operation, in the same order, as the tensor ops it replaces, so the results are
;; the same bits. Pointers are byte offsets (0: absent); rows r < n, columns j < H (H a multiple of 4).
;;   dh  = dhOut ⊙ mask (+ dhNext for r < m)
;;   dc  = (dh ⊙ o) ⊙ (1 − tc ⊙ tc) (+ dcNext for r < m)
;;   di  = (dc ⊙ g) ⊙ (i ⊙ (1 − i));  df = (dc ⊙ cPrev) ⊙ (f ⊙ (1 − f)) (0 without cPrev)
;;   dg  = (dc ⊙ i) ⊙ (1 − g ⊙ g);    dO = (dh ⊙ tc) ⊙ (o ⊙ (1 − o))
;;   dg4[r] = [di | df | dg | dO];   dcOut = dc ⊙ f
;; And a transpose, 4×4 blocks at a time (tf.transpose of a weight matrix is ~3 ns per element on wasm).
;; Assembled by `npm run build:kernels` into lstm-kernels.wasm.ts.
(module
  (import "env" "memory" (memory 1))

  ;; dst [cols, rows] = transpose of src [rows, cols] (float32, row-major, byte offsets; no overlap).
  (func (export "transpose") (param $src i32) (param $dst i32) (param $rows i32) (param $cols i32)
    (local $i i32) (local $j i32) (local $rows4 i32) (local $cols4 i32) (local $rowBytes i32) (local $colBytes i32)
    (local $a i32) (local $b i32)
    (local $r0 v128) (local $r1 v128) (local $r2 v128) (local $r3 v128) (local $t0 v128) (local $t1 v128) (local $t2 v128) (local $t3 v128)
    (local.set $rows4 (i32.and (local.get $rows) (i32.const -4)))
    (local.set $cols4 (i32.and (local.get $cols) (i32.const -4)))
    (local.set $rowBytes (i32.shl (local.get $cols) (i32.const 2)))
    (local.set $colBytes (i32.shl (local.get $rows) (i32.const 2)))
    ;; 4×4 blocks
    (local.set $i (i32.const 0))
    (block $iDone (loop $iLoop
      (br_if $iDone (i32.ge_u (local.get $i) (local.get $rows4)))
      (local.set $j (i32.const 0))
      (block $jDone (loop $jLoop
        (br_if $jDone (i32.ge_u (local.get $j) (local.get $cols4)))
        ;; a: src[i][j], b: dst[j][i]
        (local.set $a (i32.add (local.get $src) (i32.shl (i32.add (i32.mul (local.get $i) (local.get $cols)) (local.get $j)) (i32.const 2))))
        (local.set $b (i32.add (local.get $dst) (i32.shl (i32.add (i32.mul (local.get $j) (local.get $rows)) (local.get $i)) (i32.const 2))))
        (local.set $r0 (v128.load (local.get $a)))
        (local.set $r1 (v128.load (i32.add (local.get $a) (local.get $rowBytes))))
        (local.set $r2 (v128.load (i32.add (local.get $a) (i32.shl (local.get $rowBytes) (i32.const 1)))))
        (local.set $r3 (v128.load (i32.add (local.get $a) (i32.mul (local.get $rowBytes) (i32.const 3)))))
        ;; t0 = a0 b0 a1 b1, t1 = a2 b2 a3 b3, t2 = c0 d0 c1 d1, t3 = c2 d2 c3 d3
        (local.set $t0 (i8x16.shuffle 0 1 2 3 16 17 18 19 4 5 6 7 20 21 22 23 (local.get $r0) (local.get $r1)))
        (local.set $t1 (i8x16.shuffle 8 9 10 11 24 25 26 27 12 13 14 15 28 29 30 31 (local.get $r0) (local.get $r1)))
        (local.set $t2 (i8x16.shuffle 0 1 2 3 16 17 18 19 4 5 6 7 20 21 22 23 (local.get $r2) (local.get $r3)))
        (local.set $t3 (i8x16.shuffle 8 9 10 11 24 25 26 27 12 13 14 15 28 29 30 31 (local.get $r2) (local.get $r3)))
        (v128.store (local.get $b) (i8x16.shuffle 0 1 2 3 4 5 6 7 16 17 18 19 20 21 22 23 (local.get $t0) (local.get $t2)))
        (v128.store (i32.add (local.get $b) (local.get $colBytes)) (i8x16.shuffle 8 9 10 11 12 13 14 15 24 25 26 27 28 29 30 31 (local.get $t0) (local.get $t2)))
        (v128.store (i32.add (local.get $b) (i32.shl (local.get $colBytes) (i32.const 1))) (i8x16.shuffle 0 1 2 3 4 5 6 7 16 17 18 19 20 21 22 23 (local.get $t1) (local.get $t3)))
        (v128.store (i32.add (local.get $b) (i32.mul (local.get $colBytes) (i32.const 3))) (i8x16.shuffle 8 9 10 11 12 13 14 15 24 25 26 27 28 29 30 31 (local.get $t1) (local.get $t3)))
        (local.set $j (i32.add (local.get $j) (i32.const 4)))
        (br $jLoop)))
      (local.set $i (i32.add (local.get $i) (i32.const 4)))
      (br $iLoop)))
    ;; the columns right of the blocks, rows above rows4
    (local.set $i (i32.const 0))
    (block $i2Done (loop $i2Loop
      (br_if $i2Done (i32.ge_u (local.get $i) (local.get $rows4)))
      (local.set $j (local.get $cols4))
      (block $j2Done (loop $j2Loop
        (br_if $j2Done (i32.ge_u (local.get $j) (local.get $cols)))
        (f32.store (i32.add (local.get $dst) (i32.shl (i32.add (i32.mul (local.get $j) (local.get $rows)) (local.get $i)) (i32.const 2)))
          (f32.load (i32.add (local.get $src) (i32.shl (i32.add (i32.mul (local.get $i) (local.get $cols)) (local.get $j)) (i32.const 2)))))
        (local.set $j (i32.add (local.get $j) (i32.const 1)))
        (br $j2Loop)))
      (local.set $i (i32.add (local.get $i) (i32.const 1)))
      (br $i2Loop)))
    ;; the rows below the blocks, every column
    (local.set $i (local.get $rows4))
    (block $i3Done (loop $i3Loop
      (br_if $i3Done (i32.ge_u (local.get $i) (local.get $rows)))
      (local.set $j (i32.const 0))
      (block $j3Done (loop $j3Loop
        (br_if $j3Done (i32.ge_u (local.get $j) (local.get $cols)))
        (f32.store (i32.add (local.get $dst) (i32.shl (i32.add (i32.mul (local.get $j) (local.get $rows)) (local.get $i)) (i32.const 2)))
          (f32.load (i32.add (local.get $src) (i32.shl (i32.add (i32.mul (local.get $i) (local.get $cols)) (local.get $j)) (i32.const 2)))))
        (local.set $j (i32.add (local.get $j) (i32.const 1)))
        (br $j3Loop)))
      (local.set $i (i32.add (local.get $i) (i32.const 1)))
      (br $i3Loop))))

  (func (export "lstmBackward")
    (param $n i32) (param $m i32) (param $H i32)
    (param $dhOut i32) (param $mask i32) (param $dhNext i32) (param $dcNext i32)
    (param $o i32) (param $tc i32) (param $i i32) (param $f i32) (param $g i32) (param $cPrev i32)
    (param $dg4 i32) (param $dcOut i32)
    (local $r i32) (local $j i32) (local $row i32) (local $row4 i32) (local $next i32) (local $q i32) (local $q4 i32)
    (local $one v128) (local $dh v128) (local $dc v128) (local $vo v128) (local $vtc v128) (local $vi v128) (local $vf v128) (local $vg v128)
    (local.set $one (f32x4.splat (f32.const 1)))
    (local.set $r (i32.const 0))
    (block $rowsDone (loop $rows
      (br_if $rowsDone (i32.ge_u (local.get $r) (local.get $n)))
      ;; byte offsets of row r in [n, H] and [n, 4H] tensors
      (local.set $row (i32.shl (i32.mul (local.get $r) (local.get $H)) (i32.const 2)))
      (local.set $row4 (i32.shl (local.get $row) (i32.const 2)))
      (local.set $next (i32.lt_u (local.get $r) (local.get $m)))
      (local.set $j (i32.const 0))
      (block $colsDone (loop $cols
        (br_if $colsDone (i32.ge_u (local.get $j) (local.get $H)))
        (local.set $q (i32.add (local.get $row) (i32.shl (local.get $j) (i32.const 2))))
        (local.set $q4 (i32.add (local.get $row4) (i32.shl (local.get $j) (i32.const 2))))
        (local.set $dh (v128.load (i32.add (local.get $dhOut) (local.get $q))))
        (if (local.get $mask) (then
          (local.set $dh (f32x4.mul (local.get $dh) (v128.load (i32.add (local.get $mask) (local.get $q)))))))
        (if (i32.and (local.get $next) (i32.ne (local.get $dhNext) (i32.const 0))) (then
          (local.set $dh (f32x4.add (local.get $dh) (v128.load (i32.add (local.get $dhNext) (local.get $q)))))))
        (local.set $vo (v128.load (i32.add (local.get $o) (local.get $q))))
        (local.set $vtc (v128.load (i32.add (local.get $tc) (local.get $q))))
        (local.set $dc (f32x4.mul (f32x4.mul (local.get $dh) (local.get $vo))
                                  (f32x4.sub (local.get $one) (f32x4.mul (local.get $vtc) (local.get $vtc)))))
        (if (i32.and (local.get $next) (i32.ne (local.get $dcNext) (i32.const 0))) (then
          (local.set $dc (f32x4.add (local.get $dc) (v128.load (i32.add (local.get $dcNext) (local.get $q)))))))
        (local.set $vi (v128.load (i32.add (local.get $i) (local.get $q))))
        (local.set $vf (v128.load (i32.add (local.get $f) (local.get $q))))
        (local.set $vg (v128.load (i32.add (local.get $g) (local.get $q))))
        ;; di
        (v128.store (i32.add (local.get $dg4) (local.get $q4))
          (f32x4.mul (f32x4.mul (local.get $dc) (local.get $vg))
                     (f32x4.mul (local.get $vi) (f32x4.sub (local.get $one) (local.get $vi)))))
        ;; df
        (v128.store (i32.add (local.get $dg4) (i32.add (local.get $q4) (i32.shl (local.get $H) (i32.const 2))))
          (if (result v128) (local.get $cPrev)
            (then (f32x4.mul (f32x4.mul (local.get $dc) (v128.load (i32.add (local.get $cPrev) (local.get $q))))
                             (f32x4.mul (local.get $vf) (f32x4.sub (local.get $one) (local.get $vf)))))
            (else (v128.const f32x4 0 0 0 0))))
        ;; dg
        (v128.store (i32.add (local.get $dg4) (i32.add (local.get $q4) (i32.shl (local.get $H) (i32.const 3))))
          (f32x4.mul (f32x4.mul (local.get $dc) (local.get $vi))
                     (f32x4.sub (local.get $one) (f32x4.mul (local.get $vg) (local.get $vg)))))
        ;; dO
        (v128.store (i32.add (local.get $dg4) (i32.add (local.get $q4) (i32.mul (local.get $H) (i32.const 12))))
          (f32x4.mul (f32x4.mul (local.get $dh) (local.get $vtc))
                     (f32x4.mul (local.get $vo) (f32x4.sub (local.get $one) (local.get $vo)))))
        (if (local.get $dcOut) (then
          (v128.store (i32.add (local.get $dcOut) (local.get $q)) (f32x4.mul (local.get $dc) (local.get $vf)))))
        (local.set $j (i32.add (local.get $j) (i32.const 4)))
        (br $cols)))
      (local.set $r (i32.add (local.get $r) (i32.const 1)))
      (br $rows))))
)
