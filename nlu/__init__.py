"""Custom Rasa NLU pieces: Chinese normalisation, jieba dictionary, entity parsing."""
