"""The model runtime: one provider interface (chat, embeddings, rerank, speech, moderation), the built-in providers,
embedded offline models, pricing, and `ModelRuntime`, which resolves Dify model choices to configured providers."""
