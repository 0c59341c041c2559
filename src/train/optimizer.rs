//! The optimiser: AdamW (β 0.9 / 0.999, ε 1e-8), its moments kept for checkpoints.

use candle_core::{Tensor, Var};

use crate::encoder::EncoderError;
use crate::error::Result;

/// AdamW with decoupled weight decay (Loshchilov & Hutter), its moments saved with
/// checkpoints so a resumed run continues exactly.
pub(super) struct AdamW {
    pub vars: Vec<(String, Var)>,
    pub m: Vec<Tensor>,
    pub v: Vec<Tensor>,
    pub t: usize,
    weight_decay: f64,
}

impl AdamW {
    const BETA1: f64 = 0.9;
    const BETA2: f64 = 0.999;
    const EPS: f64 = 1e-8;

    pub fn new(vars: Vec<(String, Var)>, weight_decay: f64) -> Result<AdamW> {
        let zeros = |v: &Var| v.zeros_like();
        Ok(AdamW {
            m: vars.iter().map(|(_, v)| zeros(v)).collect::<Result<_, _>>()?,
            v: vars.iter().map(|(_, v)| zeros(v)).collect::<Result<_, _>>()?,
            vars,
            t: 0,
            weight_decay,
        })
    }

    pub fn step(&mut self, grads: &[Tensor], lr: f64) -> Result<(), EncoderError> {
        self.t += 1;
        let correct1 = 1.0 / (1.0 - Self::BETA1.powi(self.t as i32));
        let correct2 = 1.0 / (1.0 - Self::BETA2.powi(self.t as i32));
        for (i, ((_, var), g)) in self.vars.iter().zip(grads).enumerate() {
            self.m[i] = ((&self.m[i] * Self::BETA1)? + (g * (1.0 - Self::BETA1))?)?;
            self.v[i] = ((&self.v[i] * Self::BETA2)? + (g.sqr()? * (1.0 - Self::BETA2))?)?;
            let update = ((&self.m[i] * correct1)? / ((&self.v[i] * correct2)?.sqrt()? + Self::EPS)?)?;
            let decayed = (var.as_tensor() * (1.0 - lr * self.weight_decay))?;
            var.set(&(decayed - (update * lr)?)?)?;
        }
        Ok(())
    }
}
