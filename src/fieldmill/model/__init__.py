"""The model: where it comes from (bundled, a folder, s3://), its card, its prompt (the one function `run` and
`finetune` both call) and the tool that ships a trained adapter as the default."""
