"""A table's title states every input of the model."""

from torch import nn

import cnnstat
from cnnstat.frame.views import summary_view


class TwoInputs(nn.Module):
    def __init__(self):
        super().__init__()
        self.image = nn.Conv2d(3, 4, 3)
        self.extra = nn.Linear(5, 4)

    def forward(self, image, extra):
        return self.image(image).mean((2, 3)) + self.extra(extra)


def test_a_two_input_model_names_both_inputs():
    report = cnnstat.profile(TwoInputs(), [(3, 8, 8), (5,)], batch=2)
    assert "inputs 2x3x8x8, 2x5" in summary_view(report).title
    assert "input 1x3x8x8 " in summary_view(cnnstat.profile(nn.Conv2d(3, 4, 3), (3, 8, 8))).title + " "
