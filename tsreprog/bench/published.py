"""Published averages (MSE over the four horizons, look-back as in each paper) to set our numbers beside.

Only numbers whose source is stated are listed; a blank cell means the paper does not report that dataset or the
figure could not be checked offline (VisionTS: left out for that reason). The papers' look-backs
and budgets are their own; our tables state theirs (look-back, profile), so compare with that in mind.
"""

PUBLISHED = {
    # model: {dataset: mse}, source
    "Time-LLM (Llama-7B)": ({"ETTh1": 0.408, "ETTh2": 0.334, "ETTm1": 0.329, "national_illness": 1.435},
                            "Jin et al., Time-LLM, ICLR 2024, Table 1 (averages)"),
    "PatchTST": ({"ETTh1": 0.413, "ETTh2": 0.330, "ETTm1": 0.351, "national_illness": 1.443},
                 "Nie et al., PatchTST, ICLR 2023, as quoted in Time-LLM Table 1"),
    "GPT4TS": ({"ETTh1": 0.427, "ETTh2": 0.346, "ETTm1": 0.352, "national_illness": 1.925},
               "Zhou et al., One Fits All, NeurIPS 2023, as quoted in Time-LLM Table 1"),
    "DLinear": ({"ETTh1": 0.423, "ETTh2": 0.431, "ETTm1": 0.357, "national_illness": 2.169},
                "Zeng et al., DLinear, AAAI 2023, as quoted in Time-LLM Table 1"),
}
