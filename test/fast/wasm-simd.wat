(module
  (type (;0;) (func (param i32 i32 i32 i32 i32 i32 i32 i32)))
  (type (;1;) (func (param i32 i32 i32 i32 i32 i32 i32)))
  (type (;2;) (func (param i32 i32 i32 i32)))
  (type (;3;) (func (param i32 i32 f32 i32 i32)))
  (type (;4;) (func (param i32 i32 i32 i32)))
  (type (;5;) (func (param i32 i32 i32 i32 i32)))
  (type (;6;) (func (param i32 i32 i32 i32 i32 i32 i32)))
  (func $rankBlock (export "rankBlock") (type 0) (param $a i32) (param $aRow i32) (param $aK i32) (param $K i32) (param $x i32) (param $y i32) (param $rows i32) (param $O i32)
    (local $r i32) (local $k i32) (local $ap i32) (local $xp i32) (local $yp i32) (local $ob i32) (local $O32 i32) (local $O4 i32) (local $rowB i32) (local $yrow i32) (local $av f32) (local $avv v128) (local $acc0 v128) (local $acc1 v128) (local $acc2 v128) (local $acc3 v128) (local $acc4 v128) (local $acc5 v128) (local $acc6 v128) (local $acc7 v128) (local $t f32)
    local.get $O
    i32.const -32
    i32.and
    local.set $O32
    local.get $O
    i32.const -4
    i32.and
    local.set $O4
    local.get $O
    i32.const 2
    i32.shl
    local.set $rowB
    i32.const 0
    local.set $r
    block  ;; label = @1
      loop  ;; label = @2
        local.get $r
        local.get $rows
        i32.lt_s
        i32.eqz
        br_if 1 (;@1;)
        local.get $y
        local.get $r
        local.get $rowB
        i32.mul
        i32.add
        local.set $yrow
        i32.const 0
        local.set $ob
        block  ;; label = @3
          loop  ;; label = @4
            local.get $ob
            local.get $O32
            i32.lt_s
            i32.eqz
            br_if 1 (;@3;)
            local.get $yrow
            local.get $ob
            i32.const 2
            i32.shl
            i32.add
            local.set $yp
            local.get $yp
            v128.load
            local.set $acc0
            local.get $yp
            v128.load offset=16
            local.set $acc1
            local.get $yp
            v128.load offset=32
            local.set $acc2
            local.get $yp
            v128.load offset=48
            local.set $acc3
            local.get $yp
            v128.load offset=64
            local.set $acc4
            local.get $yp
            v128.load offset=80
            local.set $acc5
            local.get $yp
            v128.load offset=96
            local.set $acc6
            local.get $yp
            v128.load offset=112
            local.set $acc7
            local.get $a
            local.get $r
            local.get $aRow
            i32.mul
            i32.add
            local.set $ap
            local.get $x
            local.get $ob
            i32.const 2
            i32.shl
            i32.add
            local.set $xp
            i32.const 0
            local.set $k
            block  ;; label = @5
              loop  ;; label = @6
                local.get $k
                local.get $K
                i32.lt_s
                i32.eqz
                br_if 1 (;@5;)
                local.get $ap
                f32.load
                local.set $av
                local.get $av
                f32.const 0x0p+0 (;=0;)
                f32.ne
                if  ;; label = @7
                  local.get $av
                  f32x4.splat
                  local.set $avv
                  local.get $acc0
                  local.get $avv
                  local.get $xp
                  v128.load
                  f32x4.mul
                  f32x4.add
                  local.set $acc0
                  local.get $acc1
                  local.get $avv
                  local.get $xp
                  v128.load offset=16
                  f32x4.mul
                  f32x4.add
                  local.set $acc1
                  local.get $acc2
                  local.get $avv
                  local.get $xp
                  v128.load offset=32
                  f32x4.mul
                  f32x4.add
                  local.set $acc2
                  local.get $acc3
                  local.get $avv
                  local.get $xp
                  v128.load offset=48
                  f32x4.mul
                  f32x4.add
                  local.set $acc3
                  local.get $acc4
                  local.get $avv
                  local.get $xp
                  v128.load offset=64
                  f32x4.mul
                  f32x4.add
                  local.set $acc4
                  local.get $acc5
                  local.get $avv
                  local.get $xp
                  v128.load offset=80
                  f32x4.mul
                  f32x4.add
                  local.set $acc5
                  local.get $acc6
                  local.get $avv
                  local.get $xp
                  v128.load offset=96
                  f32x4.mul
                  f32x4.add
                  local.set $acc6
                  local.get $acc7
                  local.get $avv
                  local.get $xp
                  v128.load offset=112
                  f32x4.mul
                  f32x4.add
                  local.set $acc7
                end
                local.get $ap
                local.get $aK
                i32.add
                local.set $ap
                local.get $xp
                local.get $rowB
                i32.add
                local.set $xp
                local.get $k
                i32.const 1
                i32.add
                local.set $k
                br 0 (;@6;)
              end
            end
            local.get $yp
            local.get $acc0
            v128.store
            local.get $yp
            local.get $acc1
            v128.store offset=16
            local.get $yp
            local.get $acc2
            v128.store offset=32
            local.get $yp
            local.get $acc3
            v128.store offset=48
            local.get $yp
            local.get $acc4
            v128.store offset=64
            local.get $yp
            local.get $acc5
            v128.store offset=80
            local.get $yp
            local.get $acc6
            v128.store offset=96
            local.get $yp
            local.get $acc7
            v128.store offset=112
            local.get $ob
            i32.const 32
            i32.add
            local.set $ob
            br 0 (;@4;)
          end
        end
        block  ;; label = @3
          loop  ;; label = @4
            local.get $ob
            local.get $O4
            i32.lt_s
            i32.eqz
            br_if 1 (;@3;)
            local.get $yrow
            local.get $ob
            i32.const 2
            i32.shl
            i32.add
            local.set $yp
            local.get $yp
            v128.load
            local.set $acc0
            local.get $a
            local.get $r
            local.get $aRow
            i32.mul
            i32.add
            local.set $ap
            local.get $x
            local.get $ob
            i32.const 2
            i32.shl
            i32.add
            local.set $xp
            i32.const 0
            local.set $k
            block  ;; label = @5
              loop  ;; label = @6
                local.get $k
                local.get $K
                i32.lt_s
                i32.eqz
                br_if 1 (;@5;)
                local.get $acc0
                local.get $ap
                f32.load
                f32x4.splat
                local.get $xp
                v128.load
                f32x4.mul
                f32x4.add
                local.set $acc0
                local.get $ap
                local.get $aK
                i32.add
                local.set $ap
                local.get $xp
                local.get $rowB
                i32.add
                local.set $xp
                local.get $k
                i32.const 1
                i32.add
                local.set $k
                br 0 (;@6;)
              end
            end
            local.get $yp
            local.get $acc0
            v128.store
            local.get $ob
            i32.const 4
            i32.add
            local.set $ob
            br 0 (;@4;)
          end
        end
        block  ;; label = @3
          loop  ;; label = @4
            local.get $ob
            local.get $O
            i32.lt_s
            i32.eqz
            br_if 1 (;@3;)
            local.get $yrow
            local.get $ob
            i32.const 2
            i32.shl
            i32.add
            local.set $yp
            local.get $yp
            f32.load
            local.set $t
            local.get $a
            local.get $r
            local.get $aRow
            i32.mul
            i32.add
            local.set $ap
            local.get $x
            local.get $ob
            i32.const 2
            i32.shl
            i32.add
            local.set $xp
            i32.const 0
            local.set $k
            block  ;; label = @5
              loop  ;; label = @6
                local.get $k
                local.get $K
                i32.lt_s
                i32.eqz
                br_if 1 (;@5;)
                local.get $t
                local.get $ap
                f32.load
                local.get $xp
                f32.load
                f32.mul
                f32.add
                local.set $t
                local.get $ap
                local.get $aK
                i32.add
                local.set $ap
                local.get $xp
                local.get $rowB
                i32.add
                local.set $xp
                local.get $k
                i32.const 1
                i32.add
                local.set $k
                br 0 (;@6;)
              end
            end
            local.get $yp
            local.get $t
            f32.store
            local.get $ob
            i32.const 1
            i32.add
            local.set $ob
            br 0 (;@4;)
          end
        end
        local.get $r
        i32.const 1
        i32.add
        local.set $r
        br 0 (;@2;)
      end
    end)
  (func $dotRows (export "dotRows") (type 1) (param $d i32) (param $n i32) (param $O i32) (param $w i32) (param $I i32) (param $g i32) (param $acc i32)
    (local $p i32) (local $i i32) (local $dp i32) (local $wp i32) (local $o i32) (local $O4 i32) (local $row i32) (local $drow i32) (local $t f32) (local $s v128) (local $s2 v128) (local $O8 i32)
    local.get $O
    i32.const -4
    i32.and
    local.set $O4
    local.get $O
    i32.const -8
    i32.and
    local.set $O8
    local.get $O
    i32.const 2
    i32.shl
    local.set $row
    local.get $d
    local.set $drow
    i32.const 0
    local.set $p
    block  ;; label = @1
      loop  ;; label = @2
        local.get $p
        local.get $n
        i32.lt_s
        i32.eqz
        br_if 1 (;@1;)
        i32.const 0
        local.set $i
        block  ;; label = @3
          loop  ;; label = @4
            local.get $i
            local.get $I
            i32.lt_s
            i32.eqz
            br_if 1 (;@3;)
            local.get $drow
            local.set $dp
            local.get $w
            local.get $i
            local.get $row
            i32.mul
            i32.add
            local.set $wp
            v128.const i32x4 0x00000000 0x00000000 0x00000000 0x00000000
            local.set $s
            v128.const i32x4 0x00000000 0x00000000 0x00000000 0x00000000
            local.set $s2
            i32.const 0
            local.set $o
            block  ;; label = @5
              loop  ;; label = @6
                local.get $o
                local.get $O8
                i32.lt_s
                i32.eqz
                br_if 1 (;@5;)
                local.get $s
                local.get $dp
                v128.load
                local.get $wp
                v128.load
                f32x4.mul
                f32x4.add
                local.set $s
                local.get $s2
                local.get $dp
                v128.load offset=16
                local.get $wp
                v128.load offset=16
                f32x4.mul
                f32x4.add
                local.set $s2
                local.get $dp
                i32.const 32
                i32.add
                local.set $dp
                local.get $wp
                i32.const 32
                i32.add
                local.set $wp
                local.get $o
                i32.const 8
                i32.add
                local.set $o
                br 0 (;@6;)
              end
            end
            local.get $s
            local.get $s2
            f32x4.add
            local.set $s
            block  ;; label = @5
              loop  ;; label = @6
                local.get $o
                local.get $O4
                i32.lt_s
                i32.eqz
                br_if 1 (;@5;)
                local.get $s
                local.get $dp
                v128.load
                local.get $wp
                v128.load
                f32x4.mul
                f32x4.add
                local.set $s
                local.get $dp
                i32.const 16
                i32.add
                local.set $dp
                local.get $wp
                i32.const 16
                i32.add
                local.set $wp
                local.get $o
                i32.const 4
                i32.add
                local.set $o
                br 0 (;@6;)
              end
            end
            local.get $s
            f32x4.extract_lane 0
            local.get $s
            f32x4.extract_lane 1
            f32.add
            local.get $s
            f32x4.extract_lane 2
            local.get $s
            f32x4.extract_lane 3
            f32.add
            f32.add
            local.set $t
            block  ;; label = @5
              loop  ;; label = @6
                local.get $o
                local.get $O
                i32.lt_s
                i32.eqz
                br_if 1 (;@5;)
                local.get $t
                local.get $dp
                f32.load
                local.get $wp
                f32.load
                f32.mul
                f32.add
                local.set $t
                local.get $dp
                i32.const 4
                i32.add
                local.set $dp
                local.get $wp
                i32.const 4
                i32.add
                local.set $wp
                local.get $o
                i32.const 1
                i32.add
                local.set $o
                br 0 (;@6;)
              end
            end
            local.get $acc
            if  ;; label = @5
              local.get $t
              local.get $g
              f32.load
              f32.add
              local.set $t
            end
            local.get $g
            local.get $t
            f32.store
            local.get $g
            i32.const 4
            i32.add
            local.set $g
            local.get $i
            i32.const 1
            i32.add
            local.set $i
            br 0 (;@4;)
          end
        end
        local.get $drow
        local.get $row
        i32.add
        local.set $drow
        local.get $p
        i32.const 1
        i32.add
        local.set $p
        br 0 (;@2;)
      end
    end)
  (func $mul (export "mul") (type 2) (param $in0 i32) (param $in1 i32) (param $out i32) (param $m i32)
    (local $j i32) (local $m4 i32) (local $off i32)
    local.get $m
    i32.const -4
    i32.and
    local.set $m4
    i32.const 0
    local.set $j
    block  ;; label = @1
      loop  ;; label = @2
        local.get $j
        local.get $m4
        i32.lt_s
        i32.eqz
        br_if 1 (;@1;)
        local.get $j
        i32.const 2
        i32.shl
        local.set $off
        local.get $out
        local.get $off
        i32.add
        local.get $in0
        local.get $off
        i32.add
        v128.load
        local.get $in1
        local.get $off
        i32.add
        v128.load
        f32x4.mul
        v128.store
        local.get $j
        i32.const 4
        i32.add
        local.set $j
        br 0 (;@2;)
      end
    end
    block  ;; label = @1
      loop  ;; label = @2
        local.get $j
        local.get $m
        i32.lt_s
        i32.eqz
        br_if 1 (;@1;)
        local.get $j
        i32.const 2
        i32.shl
        local.set $off
        local.get $out
        local.get $off
        i32.add
        local.get $in0
        local.get $off
        i32.add
        f32.load
        local.get $in1
        local.get $off
        i32.add
        f32.load
        f32.mul
        f32.store
        local.get $j
        i32.const 1
        i32.add
        local.set $j
        br 0 (;@2;)
      end
    end)
  (func $axpy (export "axpy") (type 3) (param $in0 i32) (param $in1 i32) (param $s0 f32) (param $out i32) (param $m i32)
    (local $j i32) (local $m4 i32) (local $off i32)
    local.get $m
    i32.const -4
    i32.and
    local.set $m4
    i32.const 0
    local.set $j
    block  ;; label = @1
      loop  ;; label = @2
        local.get $j
        local.get $m4
        i32.lt_s
        i32.eqz
        br_if 1 (;@1;)
        local.get $j
        i32.const 2
        i32.shl
        local.set $off
        local.get $out
        local.get $off
        i32.add
        local.get $in0
        local.get $off
        i32.add
        v128.load
        local.get $s0
        f32x4.splat
        local.get $in1
        local.get $off
        i32.add
        v128.load
        f32x4.mul
        f32x4.add
        v128.store
        local.get $j
        i32.const 4
        i32.add
        local.set $j
        br 0 (;@2;)
      end
    end
    block  ;; label = @1
      loop  ;; label = @2
        local.get $j
        local.get $m
        i32.lt_s
        i32.eqz
        br_if 1 (;@1;)
        local.get $j
        i32.const 2
        i32.shl
        local.set $off
        local.get $out
        local.get $off
        i32.add
        local.get $in0
        local.get $off
        i32.add
        f32.load
        local.get $s0
        local.get $in1
        local.get $off
        i32.add
        f32.load
        f32.mul
        f32.add
        f32.store
        local.get $j
        i32.const 1
        i32.add
        local.set $j
        br 0 (;@2;)
      end
    end)
  (func $relu (export "relu") (type 4) (param $in0 i32) (param $out i32) (param $out2 i32) (param $m i32)
    (local $j i32) (local $m4 i32) (local $off i32)
    local.get $m
    i32.const -4
    i32.and
    local.set $m4
    i32.const 0
    local.set $j
    block  ;; label = @1
      loop  ;; label = @2
        local.get $j
        local.get $m4
        i32.lt_s
        i32.eqz
        br_if 1 (;@1;)
        local.get $j
        i32.const 2
        i32.shl
        local.set $off
        local.get $out2
        local.get $off
        i32.add
        local.get $in0
        local.get $off
        i32.add
        v128.load
        v128.const i32x4 0x00000000 0x00000000 0x00000000 0x00000000
        f32x4.gt
        f32.const 0x1p+0 (;=1;)
        f32x4.splat
        v128.and
        v128.store
        local.get $out
        local.get $off
        i32.add
        local.get $in0
        local.get $off
        i32.add
        v128.load
        v128.const i32x4 0x00000000 0x00000000 0x00000000 0x00000000
        f32x4.max
        v128.store
        local.get $j
        i32.const 4
        i32.add
        local.set $j
        br 0 (;@2;)
      end
    end
    block  ;; label = @1
      loop  ;; label = @2
        local.get $j
        local.get $m
        i32.lt_s
        i32.eqz
        br_if 1 (;@1;)
        local.get $j
        i32.const 2
        i32.shl
        local.set $off
        local.get $out2
        local.get $off
        i32.add
        f32.const 0x1p+0 (;=1;)
        f32.const 0x0p+0 (;=0;)
        local.get $in0
        local.get $off
        i32.add
        f32.load
        f32.const 0x0p+0 (;=0;)
        f32.gt
        select
        f32.store
        local.get $out
        local.get $off
        i32.add
        local.get $in0
        local.get $off
        i32.add
        f32.load
        f32.const 0x0p+0 (;=0;)
        local.get $in0
        local.get $off
        i32.add
        f32.load
        f32.const 0x0p+0 (;=0;)
        f32.gt
        select
        f32.store
        local.get $j
        i32.const 1
        i32.add
        local.set $j
        br 0 (;@2;)
      end
    end)
  (func $subMul (export "subMul") (type 5) (param $in0 i32) (param $in1 i32) (param $in2 i32) (param $out i32) (param $m i32)
    (local $j i32) (local $m4 i32) (local $off i32)
    local.get $m
    i32.const -4
    i32.and
    local.set $m4
    i32.const 0
    local.set $j
    block  ;; label = @1
      loop  ;; label = @2
        local.get $j
        local.get $m4
        i32.lt_s
        i32.eqz
        br_if 1 (;@1;)
        local.get $j
        i32.const 2
        i32.shl
        local.set $off
        local.get $out
        local.get $off
        i32.add
        local.get $in0
        local.get $off
        i32.add
        v128.load
        local.get $in1
        local.get $off
        i32.add
        v128.load
        local.get $in2
        local.get $off
        i32.add
        v128.load
        f32x4.mul
        f32x4.sub
        v128.store
        local.get $j
        i32.const 4
        i32.add
        local.set $j
        br 0 (;@2;)
      end
    end
    block  ;; label = @1
      loop  ;; label = @2
        local.get $j
        local.get $m
        i32.lt_s
        i32.eqz
        br_if 1 (;@1;)
        local.get $j
        i32.const 2
        i32.shl
        local.set $off
        local.get $out
        local.get $off
        i32.add
        local.get $in0
        local.get $off
        i32.add
        f32.load
        local.get $in1
        local.get $off
        i32.add
        f32.load
        local.get $in2
        local.get $off
        i32.add
        f32.load
        f32.mul
        f32.sub
        f32.store
        local.get $j
        i32.const 1
        i32.add
        local.set $j
        br 0 (;@2;)
      end
    end)
  (func $secondTerm (export "secondTerm") (type 6) (param $in0 i32) (param $in1 i32) (param $in2 i32) (param $in3 i32) (param $in4 i32) (param $out i32) (param $m i32)
    (local $j i32) (local $m4 i32) (local $off i32)
    local.get $m
    i32.const -4
    i32.and
    local.set $m4
    i32.const 0
    local.set $j
    block  ;; label = @1
      loop  ;; label = @2
        local.get $j
        local.get $m4
        i32.lt_s
        i32.eqz
        br_if 1 (;@1;)
        local.get $j
        i32.const 2
        i32.shl
        local.set $off
        local.get $out
        local.get $off
        i32.add
        local.get $in0
        local.get $off
        i32.add
        v128.load
        local.get $in1
        local.get $off
        i32.add
        v128.load
        f32x4.mul
        local.get $in2
        local.get $off
        i32.add
        v128.load
        local.get $in3
        local.get $off
        i32.add
        v128.load
        f32x4.mul
        local.get $in4
        local.get $off
        i32.add
        v128.load
        f32x4.mul
        f32x4.add
        v128.store
        local.get $j
        i32.const 4
        i32.add
        local.set $j
        br 0 (;@2;)
      end
    end
    block  ;; label = @1
      loop  ;; label = @2
        local.get $j
        local.get $m
        i32.lt_s
        i32.eqz
        br_if 1 (;@1;)
        local.get $j
        i32.const 2
        i32.shl
        local.set $off
        local.get $out
        local.get $off
        i32.add
        local.get $in0
        local.get $off
        i32.add
        f32.load
        local.get $in1
        local.get $off
        i32.add
        f32.load
        f32.mul
        local.get $in2
        local.get $off
        i32.add
        f32.load
        local.get $in3
        local.get $off
        i32.add
        f32.load
        f32.mul
        local.get $in4
        local.get $off
        i32.add
        f32.load
        f32.mul
        f32.add
        f32.store
        local.get $j
        i32.const 1
        i32.add
        local.set $j
        br 0 (;@2;)
      end
    end)
  (memory (;0;) (export "mem") 1))
