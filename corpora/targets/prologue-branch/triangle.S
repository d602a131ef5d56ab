/* unsigned long pb_triangle(unsigned long n): 0 + 1 + ... + n, by a loop
 * whose back-edge lands at offset 2, strictly inside the 5 bytes a jmp rel32
 * at the entry would overwrite. An engine that writes such a jmp sends every
 * thread still looping into the middle of it. Hand-written so that no
 * compiler flag (of any flavour) moves the loop head. */
	.text
	.globl	pb_triangle
	.type	pb_triangle, @function
	.p2align 4
pb_triangle:
	xor	%eax, %eax		/* offset 0, 2 bytes */
.Lloop:					/* offset 2 */
	add	%rdi, %rax
	sub	$1, %rdi		/* CF when n was 0, ZF when n was 1 */
	ja	.Lloop			/* back-edge to offset 2 */
	ret
	.size	pb_triangle, .-pb_triangle

	.section .note.GNU-stack,"",@progbits
