//! f32 matrix products on slices for the quantised model's attention and its f32 layers,
//! through the `gemm` crate (the kernels under Candle's CPU matmul, dispatched at run time
//! to AVX-512 / AVX2 / NEON), with strided views so no head or transpose is copied.

/// A row-major view of a matrix inside a slice: element `(i, j)` is at
/// `offset + i * row_stride + j * col_stride`.
#[derive(Debug, Clone, Copy)]
pub struct View {
    pub rows: usize,
    pub cols: usize,
    pub offset: usize,
    pub row_stride: usize,
    pub col_stride: usize,
}

impl View {
    /// A whole row-major `[rows, cols]` matrix.
    pub fn dense(rows: usize, cols: usize) -> View {
        View {
            rows,
            cols,
            offset: 0,
            row_stride: cols,
            col_stride: 1,
        }
    }

    /// Columns `first..first + cols` of a row-major matrix with `width` columns.
    pub fn columns(rows: usize, width: usize, first: usize, cols: usize) -> View {
        View {
            rows,
            cols,
            offset: first,
            row_stride: width,
            col_stride: 1,
        }
    }

    /// The transpose (no data moves).
    pub fn t(self) -> View {
        View {
            rows: self.cols,
            cols: self.rows,
            offset: self.offset,
            row_stride: self.col_stride,
            col_stride: self.row_stride,
        }
    }

    /// One past the last element read, or 0 for an empty view.
    fn end(&self) -> usize {
        if self.rows == 0 || self.cols == 0 {
            return 0;
        }
        self.offset + (self.rows - 1) * self.row_stride + (self.cols - 1) * self.col_stride + 1
    }
}

/// `dst = scale · a · b` on one thread (callers parallelise over heads and texts).
pub fn matmul(dst: &mut [f32], d: View, a: &[f32], av: View, b: &[f32], bv: View, scale: f32) {
    assert!(
        av.cols == bv.rows && d.rows == av.rows && d.cols == bv.cols,
        "shapes agree"
    );
    assert!(
        av.end() <= a.len() && bv.end() <= b.len() && d.end() <= dst.len(),
        "views fit"
    );
    if d.rows == 0 || d.cols == 0 {
        return;
    }
    // Every stride and offset was checked against the slices above; `read_dst: false`
    // means dst is only written.
    unsafe {
        gemm::gemm(
            d.rows,
            d.cols,
            av.cols,
            dst.as_mut_ptr().add(d.offset),
            d.col_stride as isize,
            d.row_stride as isize,
            false,
            a.as_ptr().add(av.offset),
            av.col_stride as isize,
            av.row_stride as isize,
            b.as_ptr().add(bv.offset),
            bv.col_stride as isize,
            bv.row_stride as isize,
            0.0,
            scale,
            false,
            false,
            false,
            gemm::Parallelism::None,
        )
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn strided_products_match_loops() {
        // a: 3×5 inside a 3×8 matrix from column 2; b: transpose of a 4×5 matrix.
        let a: Vec<f32> = (0..24).map(|v| v as f32 * 0.5 - 3.0).collect();
        let b: Vec<f32> = (0..20).map(|v| (v as f32).sin()).collect();
        let av = View::columns(3, 8, 2, 5);
        let bv = View::dense(4, 5).t();
        let mut dst = vec![0f32; 12];
        matmul(&mut dst, View::dense(3, 4), &a, av, &b, bv, 2.0);
        for i in 0..3 {
            for j in 0..4 {
                let want: f32 = (0..5).map(|p| a[i * 8 + 2 + p] * b[j * 5 + p]).sum::<f32>() * 2.0;
                assert!((dst[i * 4 + j] - want).abs() < 1e-4, "{i},{j}");
            }
        }
    }
}
