/**
 * The engine's {@link jdiffusion.kernels.Backend} on a TornadoVM device: {@link jdiffusion.tornado.TornadoBackend}
 * (host side: shapes, operand caching, launches), {@link jdiffusion.tornado.Device} (one memory pool, one
 * execution plan, one task graph per kernel), {@link jdiffusion.tornado.Pool} (the pool's allocator),
 * {@link jdiffusion.tornado.TornadoDevices} (finding the device, and the errors when there is none) and the
 * device kernels, one class per kind:
 * <ul>
 *   <li>{@link jdiffusion.tornado.TiledGemm}: conv2d and linear as local-memory tiled GEMMs (the GPU design);</li>
 *   <li>{@link jdiffusion.tornado.DirectGemm}: conv2d and linear without local memory (register blocking);</li>
 *   <li>{@link jdiffusion.tornado.DotGemm}: im2col + a GEMM of dot products along k (the CPU-device design);</li>
 *   <li>{@link jdiffusion.tornado.Norms}: GroupNorm (+ SiLU) and LayerNorm, one work-group per normalised set;</li>
 *   <li>{@link jdiffusion.tornado.Attention}: flash-style multi-head attention;</li>
 *   <li>{@link jdiffusion.tornado.Elementwise}: pool initialisation and upload, elementwise ops, data movement.</li>
 * </ul>
 *
 * <p><b>Kernel conventions</b> (TornadoVM's Java subset, compiled to OpenCL C / PTX / SPIR-V at run time).
 * Every kernel has the same signature: the memory pool {@code p} (all tensors, weights and activations, live
 * in it at float offsets), integer parameters {@code ip} (shapes and offsets) and float parameters {@code fp}.
 * Parameters travel in small arrays, not as scalar arguments, because TornadoVM specialises a kernel on its
 * scalar arguments: each distinct shape would be a new compilation. This way each kernel is compiled once per
 * process and serves every model and shape.
 *
 * <p>All kernels are {@code KernelContext} kernels launched on a 1-D grid whose size is rounded up to the
 * work-group size; threads past the end do nothing (but still reach every barrier). Work-group sizes and tile
 * sizes are {@code static final int} compile-time constants of the kernel's class, shared with the host code
 * that sizes the grids: javac folds them (and constant expressions of them, e.g. {@code TILE * TK}) into the
 * bytecode, so TornadoVM sees plain literals, exactly as if they were written out. Helpers called from a
 * kernel are private static methods, which TornadoVM inlines into the kernel (its OpenCL backend emits no
 * function calls for them). No kernel uses {@code Float.NaN} or infinities (the OpenCL build runs with
 * -cl-fast-relaxed-math): running maxima start at a finite "minus infinity", {@link jdiffusion.tornado.Attention#NEG}.
 */
package jdiffusion.tornado;
