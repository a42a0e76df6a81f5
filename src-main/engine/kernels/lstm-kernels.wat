;; One backward step of the LSTM cell, fused: the ~30 element-wise tensor ops of decoder-train.ts's BPTT step in one
;; pass over tfjs-backend-wasm's own memory (imported: the tensors are read and written where they are). Every lane
;; operation is the same IEEE float32 operation, in the same order, as the tensor ops it replaces, so the results are
;; the same bits. Pointers are byte offsets (0: absent); rows r < n, columns j < H (H a multiple of 4).
;;   dh  = dhOut ⊙ mask (+ dhNext for r < m)
;;   dc  = (dh ⊙ o) ⊙ (1 − tc ⊙ tc) (+ dcNext for r < m)
;;   di  = (dc ⊙ g) ⊙ (i ⊙ (1 − i));  df = (dc ⊙ cPrev) ⊙ (f ⊙ (1 − f)) (0 without cPrev)
;;   dg  = (dc ⊙ i) ⊙ (1 − g ⊙ g);    dO = (dh ⊙ tc) ⊙ (o ⊙ (1 − o))
;;   dg4[r] = [di | df | dg | dO];   dcOut = dc ⊙ f
;; Assembled by `npm run build:kernels` into lstm-kernels.wasm.ts.
(module
  (import "env" "memory" (memory 1))

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
