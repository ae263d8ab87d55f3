//! Scratch buffers whose slices start on a cache line.

/// A float buffer whose slices start on a 64-byte boundary: a padded row of 16 floats is then
/// exactly one cache line, and an AVX-512 load or store never straddles two (measured: split
/// lines made a `seed` step about 10% slower).
#[derive(Default)]
pub(crate) struct AlignedBuffer(Vec<f32>);

impl AlignedBuffer {
    const ALIGN_FLOATS: usize = 64 / size_of::<f32>();

    /// `len` floats starting on a 64-byte boundary, holding whatever they held before.
    pub(crate) fn get(&mut self, len: usize) -> &mut [f32] {
        if self.0.len() < len + Self::ALIGN_FLOATS {
            self.0.resize(len + Self::ALIGN_FLOATS, 0.0);
        }
        let start = self.0.as_ptr().align_offset(64).min(Self::ALIGN_FLOATS);
        &mut self.0[start..start + len]
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn aligned_buffer_slices_start_on_a_cache_line() {
        let mut buffer = AlignedBuffer::default();
        for len in [1, 10, 160, 7, 4096] {
            let slice = buffer.get(len);
            assert_eq!(slice.len(), len);
            assert_eq!(slice.as_ptr() as usize % 64, 0, "len {len}");
        }
    }
}
