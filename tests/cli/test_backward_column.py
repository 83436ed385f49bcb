"""summary --mode train shows each layer's backward MACs (table and CSV), summing to the total."""

import csv
import io


def test_summary_train_has_a_backward_macs_column(invoke):
    result = invoke("summary", "mobilenet_v1", "--mode", "train", "--device", "meta", "--format", "csv")
    assert result.exit_code == 0, result.output
    rows = list(csv.DictReader(io.StringIO(result.output)))
    root = rows[0]
    leaves = [row for row in rows if row["is_leaf"] == "True"]
    first_conv = rows[3]
    assert first_conv["type"] == "Conv2d"
    # Input and weight gradients of every layer, but no input gradient for the first convolution.
    assert int(root["backward_macs"]) == sum(int(row["backward_macs"]) for row in leaves) \
        == 2 * int(root["macs"]) - int(first_conv["macs"])
    table = invoke("summary", "mobilenet_v1", "--mode", "train", "--device", "meta", "--depth", "1")
    assert "Bwd MACs" in table.output
    assert "Bwd MACs" not in invoke("summary", "mobilenet_v1", "--device", "meta", "--depth", "1").output
