//go:build amd64 && !goexperiment.simd && !purego

#include "textflag.h"

// func kernel4x16(kb int, a, b, c *float32, ldc int, alpha, beta float32, mode int)
TEXT ·kernel4x16(SB), NOSPLIT, $0-56
	MOVQ kb+0(FP), CX
	MOVQ a+8(FP), SI
	MOVQ b+16(FP), DI
	MOVQ c+24(FP), DX
	MOVQ ldc+32(FP), R8
	SHLQ $2, R8
	VXORPS Y0, Y0, Y0
	VXORPS Y1, Y1, Y1
	VXORPS Y2, Y2, Y2
	VXORPS Y3, Y3, Y3
	VXORPS Y4, Y4, Y4
	VXORPS Y5, Y5, Y5
	VXORPS Y6, Y6, Y6
	VXORPS Y7, Y7, Y7
	TESTQ CX, CX
	JEQ   done

loop:
	VMOVUPS      (DI), Y8
	VMOVUPS      32(DI), Y9
	VBROADCASTSS (SI), Y10
	VFMADD231PS  Y8, Y10, Y0
	VFMADD231PS  Y9, Y10, Y1
	VBROADCASTSS 4(SI), Y11
	VFMADD231PS  Y8, Y11, Y2
	VFMADD231PS  Y9, Y11, Y3
	VBROADCASTSS 8(SI), Y12
	VFMADD231PS  Y8, Y12, Y4
	VFMADD231PS  Y9, Y12, Y5
	VBROADCASTSS 12(SI), Y13
	VFMADD231PS  Y8, Y13, Y6
	VFMADD231PS  Y9, Y13, Y7
	ADDQ         $16, SI
	ADDQ         $64, DI
	DECQ         CX
	JNZ          loop

done:
	// Row pointers.
	LEAQ (DX)(R8*1), R9
	LEAQ (R9)(R8*1), R10
	LEAQ (R10)(R8*1), R11

	// acc *= alpha
	VBROADCASTSS alpha+40(FP), Y14
	VMULPS       Y14, Y0, Y0
	VMULPS       Y14, Y1, Y1
	VMULPS       Y14, Y2, Y2
	VMULPS       Y14, Y3, Y3
	VMULPS       Y14, Y4, Y4
	VMULPS       Y14, Y5, Y5
	VMULPS       Y14, Y6, Y6
	VMULPS       Y14, Y7, Y7

	MOVQ mode+48(FP), AX
	CMPQ AX, $0
	JEQ  store
	CMPQ AX, $1
	JEQ  addc

	// mode 2: acc += beta * C
	VBROADCASTSS beta+44(FP), Y13
	VMULPS       (DX), Y13, Y8
	VADDPS       Y8, Y0, Y0
	VMULPS       32(DX), Y13, Y9
	VADDPS       Y9, Y1, Y1
	VMULPS       (R9), Y13, Y8
	VADDPS       Y8, Y2, Y2
	VMULPS       32(R9), Y13, Y9
	VADDPS       Y9, Y3, Y3
	VMULPS       (R10), Y13, Y8
	VADDPS       Y8, Y4, Y4
	VMULPS       32(R10), Y13, Y9
	VADDPS       Y9, Y5, Y5
	VMULPS       (R11), Y13, Y8
	VADDPS       Y8, Y6, Y6
	VMULPS       32(R11), Y13, Y9
	VADDPS       Y9, Y7, Y7
	JMP          store

addc:
	// mode 1: acc = C + acc
	VADDPS (DX), Y0, Y0
	VADDPS 32(DX), Y1, Y1
	VADDPS (R9), Y2, Y2
	VADDPS 32(R9), Y3, Y3
	VADDPS (R10), Y4, Y4
	VADDPS 32(R10), Y5, Y5
	VADDPS (R11), Y6, Y6
	VADDPS 32(R11), Y7, Y7

store:
	VMOVUPS Y0, (DX)
	VMOVUPS Y1, 32(DX)
	VMOVUPS Y2, (R9)
	VMOVUPS Y3, 32(R9)
	VMOVUPS Y4, (R10)
	VMOVUPS Y5, 32(R10)
	VMOVUPS Y6, (R11)
	VMOVUPS Y7, 32(R11)
	VZEROUPPER
	RET
