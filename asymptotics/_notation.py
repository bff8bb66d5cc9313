"""The papers' notation: how every parameter, unknown and output name is typeset in LaTeX.

One table for the whole package: the engine's LaTeX of equations (:func:`asymptotics.engine.latex`)
and the column headers of exported tables (:mod:`asymptotics.export`) both read it.

>>> LATEX["mu_star"], LATEX["lam"]
('\\\\mu_{\\\\star}', '\\\\lambda')
"""

#: name -> LaTeX math (without ``$``).
LATEX = {
    "gamma": r"\gamma", "gamma_sim": r"\gamma_{\mathrm{sim}}", "lam": r"\lambda",
    "lam_bar": r"\bar{\lambda}", "r2": r"r^{2}", "sigma2": r"\sigma^{2}", "tau2": r"\tau^{2}",
    "kappa": r"\kappa", "n": "n", "d": "d", "N": "N", "p": "p", "z": "z", "q": "q", "k": "k",
    "mu0": r"\mu_{0}", "mu1": r"\mu_{1}", "mu_star": r"\mu_{\star}", "c_k": r"c_{k}",
    "psi1": r"\psi_{1}", "psi2": r"\psi_{2}", "nu1": r"\nu_{1}", "nu2": r"\nu_{2}", "chi": r"\chi",
    "zeta": r"\zeta", "P": "P", "F1sq": r"F_{1}^{2}", "Fstar_sq": r"F_{\star}^{2}",
    "risk": "R", "bias": "B", "variance": "V", "risk_total": r"R_{\mathrm{tot}}",
    "df1": r"\mathrm{df}_{1}", "df2": r"\mathrm{df}_{2}",
    "df1_over_n": r"\mathrm{df}_{1}/n", "df2_over_n": r"\mathrm{df}_{2}/n",
    "a_l": r"a_{\ell}", "a_tail": r"a_{>\ell}", "v_l": r"v_{\ell}", "v_tail": r"v_{>\ell}",
    "tail": "t", "v_null": r"v_{\varnothing}", "alpha": r"\alpha", "exponent": r"\kappa_{n}",
    "lam_ridge": r"\lambda_{\mathrm{ridge}}", "degree": r"\ell",
    "beta2": r"\beta^{2}", "bias_sum": r"\mathrm{B}_{\Sigma}", "df1_minus_df2": r"\Delta\mathrm{df}",
}

#: Column headers that are words, not symbols.
WORDS = {"theory": "theory", "mc_mean": "MC mean", "mc_se": "MC s.e.", "n_seeds": "seeds"}
