"""The message catalogue: every text shown to a person, in English and
Brazilian Portuguese (the course material is Portuguese, and the Portuguese
texts use its words: taxa de aprendizado, época, passo, lote, perda…).

No UI import here: the headless commands use it too.

    >>> set_lang("pt"); t("state.paused")
    'pausado'

``t(key, **kw)`` fills ``str.format`` placeholders. A missing key or a
missing placeholder value is a bug: it raises ``KeyError`` while tests run
(``PYTEST_CURRENT_TEST`` set, or ``SIMTREINO_STRICT_I18N``), and otherwise
shows the key itself (or the unfilled text) rather than crash the UI.

Key groups: ``app.``, ``state.``, ``header.``, ``panel.``, ``col.``,
``layer.``, ``phase.``, ``msg.`` (notes of the live session: ``msg.`` + the
session's message key), ``binding.`` (key binding descriptions),
``help.``, ``hyper.``, ``picker.``, ``expected.`` (what a field expects,
see ``expected_text``), ``doc.`` (the ``Hyper.doc`` texts of the core,
see ``doc_text``), ``lang.``.
"""

import os
import string

__all__ = ["LANGS", "MESSAGES", "t", "set_lang", "get_lang", "default_lang",
           "scenario_description", "expected_text", "doc_text", "placeholders"]

LANGS = ("en", "pt")

MESSAGES: dict[str, dict[str, str]] = {
    # -- the application ---------------------------------------------------
    "app.title": {"en": "simtreino", "pt": "simtreino"},
    "app.subtitle": {"en": "watch a neural network train",
                     "pt": "veja uma rede neural treinar"},
    "lang.en": {"en": "English", "pt": "English"},
    "lang.pt": {"en": "Português", "pt": "Português"},

    # -- state badges ------------------------------------------------------
    "state.paused": {"en": "paused", "pt": "pausado"},
    "state.training": {"en": "training", "pt": "treinando"},
    "state.finished": {"en": "finished", "pt": "concluído"},
    "state.diverged": {"en": "diverged", "pt": "divergiu"},
    "state.stopped": {"en": "stopped early", "pt": "parada antecipada"},
    "state.compiling": {"en": "compiling kernels (first run only)…",
                        "pt": "compilando os kernels (só na primeira vez)…"},
    "state.compiling_for": {"en": "{seconds} s (it takes about a minute)",
                            "pt": "{seconds} s (leva cerca de um minuto)"},

    # -- header fields -----------------------------------------------------
    "header.scenario": {"en": "scenario", "pt": "cenário"},
    "header.epoch": {"en": "epoch", "pt": "época"},
    "header.epoch_of": {"en": "epoch {epoch}/{total}", "pt": "época {epoch}/{total}"},
    "header.step": {"en": "step", "pt": "passo"},
    "header.lr": {"en": "learning rate", "pt": "taxa de aprendizado"},
    "header.lr_short": {"en": "lr", "pt": "taxa"},
    "header.optimizer": {"en": "optimizer", "pt": "otimizador"},
    "header.batch_size": {"en": "batch size", "pt": "tamanho do lote"},
    "header.batch_full": {"en": "full", "pt": "completo"},
    "header.schedule": {"en": "schedule", "pt": "agendamento da taxa"},
    "header.speed": {"en": "speed", "pt": "velocidade"},
    "header.seed": {"en": "seed", "pt": "semente"},
    "speed.value": {"en": "{n} steps/s", "pt": "{n} passos/s"},
    "speed.max": {"en": "max", "pt": "máx."},

    # -- panels --------------------------------------------------------------
    "panel.loss": {"en": "loss", "pt": "perda"},
    "panel.accuracy": {"en": "accuracy", "pt": "acurácia"},
    "panel.validation": {"en": "validation", "pt": "validação"},
    "panel.training": {"en": "training", "pt": "treinamento"},
    "panel.test": {"en": "test", "pt": "teste"},
    "panel.batch_loss": {"en": "loss per step (batch)", "pt": "perda por passo (lote)"},
    "panel.lr": {"en": "learning rate", "pt": "taxa de aprendizado"},
    "panel.weights": {"en": "weights", "pt": "pesos"},
    "panel.gradients": {"en": "gradients", "pt": "gradientes"},
    "panel.grad_norm": {"en": "gradient norm per layer",
                        "pt": "norma do gradiente por camada"},
    "panel.decision_boundary": {"en": "decision boundary", "pt": "fronteira de decisão"},
    "panel.regression": {"en": "regression output", "pt": "saída da regressão"},
    "panel.network": {"en": "network", "pt": "rede"},
    "panel.layers": {"en": "layer summary", "pt": "resumo das camadas"},
    "panel.messages": {"en": "messages", "pt": "mensagens"},
    "panel.no_data": {"en": "no data yet", "pt": "ainda sem dados"},
    "panel.log_fallback": {"en": "log scale: no positive values, linear",
                           "pt": "escala log: nenhum valor positivo, linear"},

    # -- layer summary columns and layer names -------------------------------
    "col.layer": {"en": "layer", "pt": "camada"},
    "col.shape": {"en": "shape", "pt": "formato"},
    "col.params": {"en": "parameters", "pt": "parâmetros"},
    "col.mean": {"en": "mean", "pt": "média"},
    "col.std": {"en": "std", "pt": "desvio padrão"},
    "col.norm": {"en": "norm", "pt": "norma"},
    "col.activation": {"en": "activation", "pt": "ativação"},
    "layer.n": {"en": "layer {i}", "pt": "camada {i}"},
    "layer.input": {"en": "input", "pt": "entrada"},
    "layer.hidden": {"en": "hidden layer", "pt": "camada oculta"},
    "layer.output": {"en": "output layer", "pt": "camada de saída"},
    "layer.weight": {"en": "weight", "pt": "peso"},
    "layer.bias": {"en": "bias", "pt": "viés"},
    "layer.total": {"en": "total", "pt": "total"},

    # -- the phases of one step (step-through inspector) ---------------------
    "phase.forward": {"en": "forward pass", "pt": "passagem direta (forward)"},
    "phase.loss": {"en": "loss", "pt": "cálculo da perda"},
    "phase.backward": {"en": "backward pass", "pt": "retropropagação (backward)"},
    "phase.update": {"en": "weight update", "pt": "atualização dos pesos"},

    # -- messages (``msg.`` + the live session's message key) ----------------
    "msg.diverged": {
        "en": "Training diverged at step {step}: the loss became {what}. The learning "
              "rate ({lr}) is probably too high — lower it (key h) and reset (r).",
        "pt": "O treinamento divergiu no passo {step}: a perda virou {what}. A taxa de "
              "aprendizado ({lr}) provavelmente está alta demais — diminua-a (tecla h) "
              "e reinicie (r).",
    },
    "msg.params_saved": {"en": "Parameters saved to {path}",
                         "pt": "Parâmetros salvos em {path}"},
    "msg.save_failed": {"en": "Could not write {path}: {why}",
                        "pt": "Não foi possível gravar {path}: {why}"},
    "msg.recording_started": {"en": "Recording trace to {path}",
                              "pt": "Gravando o registro do treinamento em {path}"},
    "msg.recording_stopped": {"en": "Recording stopped; trace saved to {path}",
                              "pt": "Gravação parada; registro salvo em {path}"},
    "msg.reset": {"en": "Reset: the same initial weights (seed {seed})",
                  "pt": "Reiniciado: os mesmos pesos iniciais (semente {seed})"},
    "msg.reset_reseed": {"en": "Reset with new random weights (seed {seed})",
                         "pt": "Reiniciado com novos pesos aleatórios (semente {seed})"},
    "msg.settings_applied": {"en": "Changed: {keys}", "pt": "Alterado: {keys}"},
    "msg.setting_refused": {"en": "Could not set {key}: {why}",
                            "pt": "Não foi possível alterar {key}: {why}"},
    "msg.scenario_loaded": {"en": "Scenario {name} loaded",
                            "pt": "Cenário {name} carregado"},
    "msg.finished": {"en": "Finished: {epochs} epochs. Press r to reset.",
                     "pt": "Concluído: {epochs} épocas. Tecle r para reiniciar."},
    "msg.stopped_early": {
        "en": "Early stopping: no improvement of {monitor} for {wait} epochs; stopped at "
              "epoch {epoch}, weights of epoch {best_epoch} restored ({monitor} {best}). "
              "Press r to reset.",
        "pt": "Parada antecipada: {monitor} não melhorou em {wait} épocas; parou na época "
              "{epoch}, pesos da época {best_epoch} restaurados ({monitor} {best}). "
              "Tecle r para reiniciar.",
    },
    "msg.stopped_early_kept": {
        "en": "Early stopping: no improvement of {monitor} for {wait} epochs; stopped at "
              "epoch {epoch}, weights of the last epoch kept (best: {monitor} {best} at "
              "epoch {best_epoch}). Press r to reset.",
        "pt": "Parada antecipada: {monitor} não melhorou em {wait} épocas; parou na época "
              "{epoch}, pesos da última época mantidos (melhor: {monitor} {best} na época "
              "{best_epoch}). Tecle r para reiniciar.",
    },
    "msg.stopped_early_none": {
        "en": "Early stopping: no improvement of {monitor} for {wait} epochs; stopped at "
              "epoch {epoch}, weights of the last epoch kept (no epoch had a finite "
              "{monitor}). Press r to reset.",
        "pt": "Parada antecipada: {monitor} não melhorou em {wait} épocas; parou na época "
              "{epoch}, pesos da última época mantidos (nenhuma época teve {monitor} "
              "finito). Tecle r para reiniciar.",
    },
    "msg.terminal_too_small": {
        "en": "This terminal is {w}×{h}; simtreino needs at least {min_w}×{min_h}.",
        "pt": "Este terminal tem {w}×{h}; o simtreino precisa de pelo menos {min_w}×{min_h}.",
    },

    # -- key binding descriptions (footer and help screen) -------------------
    "binding.quit": {"en": "Quit", "pt": "Sair"},
    "binding.help": {"en": "Help", "pt": "Ajuda"},
    "binding.pause": {"en": "Train / pause", "pt": "Treinar / pausar"},
    "binding.step": {"en": "One step", "pt": "Um passo"},
    "binding.epoch": {"en": "One epoch", "pt": "Uma época"},
    "binding.phase": {"en": "Next phase (forward, loss, backward, update)",
                      "pt": "Próxima fase (forward, perda, backward, atualização)"},
    "binding.inspect": {"en": "Step-through inspector", "pt": "Inspetor passo a passo"},
    "binding.reset": {"en": "Reset (same initial weights)",
                      "pt": "Reiniciar (mesmos pesos iniciais)"},
    "binding.reseed": {"en": "Reset with new random weights",
                       "pt": "Reiniciar com novos pesos aleatórios"},
    "binding.hyperparams": {"en": "Hyperparameters", "pt": "Hiperparâmetros"},
    "binding.faster": {"en": "Faster", "pt": "Mais rápido"},
    "binding.slower": {"en": "Slower", "pt": "Mais devagar"},
    "binding.lr_up": {"en": "Raise the learning rate", "pt": "Aumentar a taxa de aprendizado"},
    "binding.lr_down": {"en": "Lower the learning rate", "pt": "Diminuir a taxa de aprendizado"},
    "binding.open": {"en": "Open scenario", "pt": "Abrir cenário"},
    "binding.save": {"en": "Save parameters", "pt": "Salvar parâmetros"},
    "binding.record": {"en": "Record trace (start / stop)",
                       "pt": "Gravar registro (iniciar / parar)"},
    "binding.language": {"en": "Mudar para português", "pt": "Switch to English"},
    "binding.view": {"en": "Next view", "pt": "Próxima visão"},
    "binding.close": {"en": "Close", "pt": "Fechar"},
    "binding.cancel": {"en": "Cancel", "pt": "Cancelar"},
    "binding.apply": {"en": "Apply", "pt": "Aplicar"},
    "binding.choose": {"en": "Open the selected", "pt": "Abrir o selecionado"},
    "binding.type_path": {"en": "Type a file path", "pt": "Digitar o caminho de um arquivo"},
    "binding.list": {"en": "Back to the list", "pt": "Voltar à lista"},

    # -- help screen ---------------------------------------------------------
    "help.title": {"en": "Help", "pt": "Ajuda"},
    "help.keys": {"en": "Keys", "pt": "Teclas"},
    "help.key": {"en": "key", "pt": "tecla"},
    "help.action": {"en": "what it does", "pt": "o que faz"},
    "help.panels": {"en": "What the panels show", "pt": "O que os painéis mostram"},
    "help.panel_curves": {
        "en": "Loss and accuracy: one point per epoch, training and validation; a "
              "validation curve that turns up while training keeps falling is overfitting.",
        "pt": "Perda e acurácia: um ponto por época, de treinamento e de validação; se a "
              "curva de validação sobe enquanto a de treinamento continua caindo, é overfitting.",
    },
    "help.panel_boundary": {
        "en": "Decision boundary: the network's answer over the whole input plane, with "
              "the training points on top (regression: the predicted curve).",
        "pt": "Fronteira de decisão: a resposta da rede em todo o plano das entradas, com "
              "os pontos de treinamento por cima (regressão: a curva prevista).",
    },
    "help.panel_layers": {
        "en": "Weights and gradients: per layer, their spread and the gradient norm; "
              "norms that vanish or explode show a network that stops learning.",
        "pt": "Pesos e gradientes: por camada, sua distribuição e a norma do gradiente; "
              "normas que somem ou explodem mostram uma rede que parou de aprender.",
    },
    "help.panel_surface": {
        "en": "Loss surface: the loss around the current weights along two directions "
              "(α, β), with the path training took; f shows it full screen.",
        "pt": "Superfície de perda: a perda em volta dos pesos atuais ao longo de duas "
              "direções (α, β), com o caminho que o treino percorreu; f a mostra em tela cheia.",
    },
    "help.panel_race_surface": {
        "en": "The surface: f(x, y) in colour (★ its minima, ◆ the start) with each "
              "optimizer's path; a thin trail, ● where it is now.",
        "pt": "A superfície: f(x, y) em cores (★ seus mínimos, ◆ o início) com o caminho "
              "de cada otimizador; um rastro fino, ● onde ele está agora.",
    },
    "help.panel_race_curves": {
        "en": "Loss per step: f at each optimizer's point, step by step.",
        "pt": "Perda por passo: f no ponto de cada otimizador, passo a passo.",
    },
    "help.panel_race_table": {
        "en": "The table: each optimizer's settings, where it is, f there and its "
              "distance to the nearest known minimum.",
        "pt": "A tabela: as configurações de cada otimizador, onde ele está, o valor de f "
              "ali e a distância até o mínimo conhecido mais próximo.",
    },
    "help.close_hint": {"en": "Esc, ? or q closes this help.",
                        "pt": "Esc, ? ou q fecha esta ajuda."},

    # -- hyperparameter form -------------------------------------------------
    "hyper.title": {"en": "Hyperparameters", "pt": "Hiperparâmetros"},
    "hyper.intro": {
        "en": "Changes apply from the next step. A new optimizer starts with empty state.",
        "pt": "As mudanças valem a partir do próximo passo. Um novo otimizador começa "
              "com o estado zerado.",
    },
    "hyper.optimizer": {"en": "optimizer", "pt": "otimizador"},
    "hyper.optimizer_kind": {"en": "the update rule", "pt": "a regra de atualização"},
    "hyper.training": {"en": "training", "pt": "treinamento"},
    "hyper.lr": {"en": "learning rate", "pt": "taxa de aprendizado"},
    "hyper.optimizer_section": {"en": "Settings of {kind}", "pt": "Ajustes do {kind}"},
    "hyper.batch_size": {"en": "batch size", "pt": "tamanho do lote"},
    "hyper.batch_hint": {"en": "an integer >= 1 or \"full\" (all {n} samples)",
                         "pt": "um inteiro >= 1 ou \"full\" (todas as {n} amostras)"},
    "hyper.schedule": {"en": "learning-rate schedule",
                       "pt": "agendamento da taxa de aprendizado"},
    "hyper.schedule_kind": {"en": "how the learning rate changes each epoch",
                            "pt": "como a taxa de aprendizado muda a cada época"},
    "hyper.schedule_none": {"en": "constant: no settings",
                            "pt": "constante: sem ajustes"},
    "hyper.pair_hint": {"en": "two numbers, as 0.9, 0.999",
                        "pt": "dois números, como 0.9, 0.999"},
    "hyper.on": {"en": "on", "pt": "ligado"},
    "hyper.off": {"en": "off", "pt": "desligado"},
    "hyper.apply": {"en": "Apply", "pt": "Aplicar"},
    "hyper.cancel": {"en": "Cancel", "pt": "Cancelar"},
    "hyper.invalid": {"en": "Correct the fields marked in red first.",
                      "pt": "Corrija primeiro os campos marcados em vermelho."},
    "hyper.keys_hint": {"en": "Tab: next field · Enter: apply · Esc: cancel",
                        "pt": "Tab: próximo campo · Enter: aplicar · Esc: cancelar"},

    # -- what a field expects (``expected_text``) ----------------------------
    "expected.prefix": {"en": "expected {what}", "pt": "valor esperado: {what}"},
    "expected.batch": {"en": "\"full\" or an integer >= 1",
                       "pt": "\"full\" ou um inteiro >= 1"},
    # nouns of Hyper.check's messages, longest first where one starts another
    "expected.a_finite_number": {"en": "a finite number", "pt": "um número finito"},
    "expected.a_number": {"en": "a number", "pt": "um número"},
    "expected.an_integer": {"en": "an integer", "pt": "um inteiro"},
    "expected.a_pair": {"en": "a pair of numbers", "pt": "um par de números"},
    "expected.numbers": {"en": "numbers", "pt": "números"},
    "expected.bool": {"en": "true or false", "pt": "verdadeiro ou falso"},
    "expected.in": {"en": "in", "pt": "em"},

    # -- scenario picker -----------------------------------------------------
    "picker.title": {"en": "Open a scenario", "pt": "Abrir um cenário"},
    "picker.bundled": {"en": "Bundled scenarios", "pt": "Cenários incluídos"},
    "picker.path": {"en": "or a scenario file (.toml):",
                    "pt": "ou um arquivo de cenário (.toml):"},
    "picker.path_placeholder": {"en": "path/to/scenario.toml, then Enter",
                                "pt": "caminho/do/cenario.toml, depois Enter"},
    "picker.none": {"en": "No bundled scenarios found.",
                    "pt": "Nenhum cenário incluído foi encontrado."},
    "picker.broken": {"en": "cannot be loaded: {error}",
                      "pt": "não pode ser carregado: {error}"},
    "picker.empty_path": {"en": "Type the path of a .toml file.",
                          "pt": "Digite o caminho de um arquivo .toml."},

    # -- Hyper.doc texts of simtreino.core (``doc_text``) --------------------
    "doc.lr": {"en": "learning rate", "pt": "taxa de aprendizado"},
    "doc.l2_coupled": {"en": "L2 penalty (coupled)", "pt": "penalidade L2 (acoplada)"},
    "doc.decoupled_wd": {"en": "decoupled weight decay",
                         "pt": "decaimento dos pesos desacoplado"},
    "doc.momentum": {"en": "momentum factor", "pt": "coeficiente de momento"},
    "doc.dampening": {"en": "dampening for momentum", "pt": "amortecimento do momento"},
    "doc.nesterov": {"en": "Nesterov momentum", "pt": "momento de Nesterov"},
    "doc.betas": {"en": "decay rates of the first and second moments",
                  "pt": "taxas de decaimento do primeiro e do segundo momento"},
    "doc.eps_denominator": {"en": "added to the denominator",
                            "pt": "somado ao denominador"},
    "doc.eps_sqrt": {"en": "added inside the square roots",
                     "pt": "somado dentro das raízes quadradas"},
    "doc.amsgrad": {"en": "use the maximum of past second moments",
                    "pt": "usar o máximo dos segundos momentos anteriores"},
    "doc.lr_decay": {"en": "learning-rate decay",
                     "pt": "decaimento da taxa de aprendizado"},
    "doc.initial_accumulator": {"en": "starting sum of squares",
                                "pt": "soma dos quadrados inicial"},
    "doc.alpha": {"en": "smoothing constant", "pt": "constante de suavização"},
    "doc.centered": {"en": "normalise by the estimated variance",
                     "pt": "normalizar pela variância estimada"},
    "doc.rho": {"en": "decay rate of the running averages",
                "pt": "taxa de decaimento das médias móveis"},
    "doc.step_size": {"en": "epochs between decays", "pt": "épocas entre os decaimentos"},
    "doc.step_gamma": {"en": "multiplier at each decay",
                       "pt": "multiplicador a cada decaimento"},
    "doc.exp_gamma": {"en": "multiplier every epoch", "pt": "multiplicador a cada época"},
    "doc.t_max": {"en": "epochs of a half cosine period",
                  "pt": "épocas de meio período do cosseno"},
    "doc.eta_min": {"en": "lowest learning rate", "pt": "menor taxa de aprendizado"},
    "doc.factor": {"en": "multiplier when the loss stops improving",
                   "pt": "multiplicador quando a perda para de melhorar"},
    "doc.patience": {"en": "epochs without improvement tolerated",
                     "pt": "épocas sem melhora toleradas"},
    "doc.threshold": {"en": "relative improvement that counts",
                      "pt": "melhora relativa que conta"},
    "doc.cooldown": {"en": "epochs to wait after a reduction",
                     "pt": "épocas de espera depois de uma redução"},
    "doc.min_lr": {"en": "lower bound of the learning rate",
                   "pt": "limite inferior da taxa de aprendizado"},

    # -- dashboard (app.py) ----------------------------------------------------
    "state.badge_compiling": {"en": "compiling", "pt": "compilando"},
    "binding.log": {"en": "Log / linear loss scale", "pt": "Escala log / linear da perda"},
    "binding.palette": {"en": "Command palette", "pt": "Paleta de comandos"},
    "inspector.title": {"en": "{scenario} · step {step} (epoch {epoch}) · page {i}/{n}: {phase}",
                        "pt": "{scenario} · passo {step} (época {epoch}) · página {i}/{n}: {phase}"},
    "inspector.waiting": {"en": "running one step phase by phase…",
                          "pt": "executando um passo, fase por fase…"},
    "inspector.checking": {"en": "checking gradients against finite differences…",
                           "pt": "conferindo os gradientes com diferenças finitas…"},
    "inspector.next": {"en": "Next phase", "pt": "Próxima fase"},
    "inspector.prev": {"en": "Previous phase", "pt": "Fase anterior"},
    "inspector.next_step": {"en": "Next step", "pt": "Próximo passo"},
    "inspector.gradcheck": {"en": "Gradient check", "pt": "Conferir gradientes"},
    "inspector.sample_next": {"en": "Next sample", "pt": "Próxima amostra"},
    "inspector.sample_prev": {"en": "Previous sample", "pt": "Amostra anterior"},
    "inspector.back": {"en": "Back to training", "pt": "Voltar ao treinamento"},
    "explain.weight_chain": {"en": "Chain of factors for {weight} (layer {layer}: from {src} to unit {j})",
                             "pt": "Cadeia de fatores de {weight} (camada {layer}: de {src} ao neurônio {j})"},
    "inspector.weight": {"en": "selected weight", "pt": "peso selecionado"},
    "inspector.unit_next": {"en": "Next unit", "pt": "Próximo neurônio"},
    "inspector.unit_prev": {"en": "Previous unit", "pt": "Neurônio anterior"},
    "inspector.input_next": {"en": "Next input", "pt": "Próxima entrada"},
    "inspector.layer_next": {"en": "Next layer", "pt": "Próxima camada"},
    "binding.breakpoint": {"en": "Run until…", "pt": "Executar até…"},
    "breakpoint.title": {"en": "Run until something happens", "pt": "Executar até algo acontecer"},
    "breakpoint.loss_below": {"en": "the loss falls below a value",
                              "pt": "a perda ficar abaixo de um valor"},
    "breakpoint.loss_above": {"en": "the loss rises above a value",
                              "pt": "a perda subir acima de um valor"},
    "breakpoint.grad_norm_above": {"en": "the gradient norm rises above a value",
                                   "pt": "a norma do gradiente passar de um valor"},
    "breakpoint.dead_relu": {"en": "a ReLU unit stops firing on every sample",
                             "pt": "um neurônio ReLU parar de disparar em todas as amostras"},
    "breakpoint.nan": {"en": "the loss becomes NaN or infinite",
                       "pt": "a perda virar NaN ou infinita"},
    "breakpoint.value": {"en": "value (for the first three):",
                         "pt": "valor (para as três primeiras):"},
    "breakpoint.need_value": {"en": "expected a number", "pt": "valor esperado: um número"},
    "breakpoint.hint": {"en": "Enter picks the condition; training runs step by step and the inspector opens on the step where it happens.",
                        "pt": "Enter escolhe a condição; o treinamento roda passo a passo e o inspetor abre no passo em que ela acontece."},
    "msg.breakpoint_hit": {"en": "Stopped before step {step}: {what} ({detail}).",
                           "pt": "Parado antes do passo {step}: {what} ({detail})."},
    "binding.metric": {"en": "Loss / accuracy curves", "pt": "Curvas de perda / acurácia"},
    "binding.layer_prev": {"en": "Previous layer", "pt": "Camada anterior"},
    "binding.layer_next": {"en": "Next layer", "pt": "Próxima camada"},
    "binding.sample_prev": {"en": "Previous sample", "pt": "Amostra anterior"},
    "binding.sample_next": {"en": "Next sample", "pt": "Próxima amostra"},
    "palette.key": {"en": "key", "pt": "tecla"},
    "header.measured": {"en": "steps/s measured", "pt": "passos/s medidos"},
    "panel.prediction": {"en": "prediction", "pt": "predição"},
    "panel.median": {"en": "median", "pt": "mediana"},
    "panel.weights_over_time": {"en": "weights over time", "pt": "pesos ao longo do tempo"},
    "panel.layer": {"en": "layer", "pt": "camada"},
    "col.grad_norm": {"en": "grad norm", "pt": "norma do gradiente"},
    "net.sample_of": {"en": "sample {i} of {n} (keys , and .)",
                      "pt": "amostra {i} de {n} (teclas , e .)"},
    "diverged.nan": {"en": "NaN or infinite", "pt": "NaN ou infinita"},
    "diverged.exploded": {"en": "huge (it exploded)", "pt": "enorme (explodiu)"},

    # -- simtreino explain / gradcheck (headless walk-through) ------------------
    "explain.title": {"en": "{scenario}: step {step} (epoch {epoch}), phase by phase",
                      "pt": "{scenario}: passo {step} (época {epoch}), fase por fase"},
    "explain.network": {"en": "Network {arch}; loss {loss}; optimizer {optimizer}; {dtype}.",
                        "pt": "Rede {arch}; perda {loss}; otimizador {optimizer}; {dtype}."},
    "explain.batch": {"en": "Batch of {n} samples (training rows {indices}).",
                      "pt": "Lote de {n} amostras (linhas de treino {indices})."},
    "explain.sample_note": {
        "en": "Per-sample values shown for batch row {sample} only.",
        "pt": "Valores por amostra mostrados só para a linha {sample} do lote."},
    "explain.rows_cut": {
        "en": "Per-sample values shown for the first rows; {n} more not shown (pick one with --sample I).",
        "pt": "Valores por amostra mostrados para as primeiras linhas; mais {n} não mostradas (escolha uma com --sample I)."},
    "explain.whole_batch": {
        "en": "Gradients are always of the whole batch ({n} samples): sums over its rows.",
        "pt": "Os gradientes são sempre do lote inteiro ({n} amostras): somas sobre suas linhas."},
    "explain.notation": {
        "en": "Notation: layer ℓ (superscript) has pre-activation zˡⱼ = Σₖ wˡⱼₖ·inₖ + bˡⱼ and activation aˡⱼ = f(zˡⱼ); wˡⱼₖ goes from input k to unit j (torch's (out, in)); o is the output, y the target, n the batch size, m the outputs.",
        "pt": "Notação: a camada ℓ (sobrescrito) tem pré-ativação zˡⱼ = Σₖ wˡⱼₖ·inₖ + bˡⱼ e ativação aˡⱼ = f(zˡⱼ); wˡⱼₖ liga a entrada k ao neurônio j ((out, in) do torch); o é a saída, y o alvo, n o tamanho do lote, m o número de saídas."},
    "explain.forward": {"en": "Forward pass, layer {layer} ({act}, {n_in} → {n_out})",
                        "pt": "Passagem direta (forward), camada {layer} ({act}, {n_in} → {n_out})"},
    "explain.wide": {"en": "A wide layer: values in a table. {formula}",
                     "pt": "Camada larga: valores em tabela. {formula}"},
    "explain.sample": {"en": "sample {s}", "pt": "amostra {s}"},
    "explain.col_unit": {"en": "unit", "pt": "neurônio"},
    "explain.col_param": {"en": "parameter", "pt": "parâmetro"},
    "explain.col_before": {"en": "before", "pt": "antes"},
    "explain.col_after": {"en": "after", "pt": "depois"},
    "explain.more": {"en": "… {n} more not shown (all are in --format json).",
                     "pt": "… mais {n} não mostrados (todos estão em --format json)."},
    "explain.table_cut": {"en": "Table cut to its first rows and columns (the layer is {rows}×{cols}; all are in --format json).",
                          "pt": "Tabela cortada nas primeiras linhas e colunas (a camada é {rows}×{cols}; tudo está em --format json)."},
    "explain.loss": {"en": "Loss ({kind}, torch's reduction='mean')",
                     "pt": "Cálculo da perda ({kind}, reduction='mean' do torch)"},
    "explain.output_is": {"en": "The output o is a{sup}; δ = ∂E/∂z of the output layer starts backpropagation.",
                          "pt": "A saída o é a{sup}; δ = ∂E/∂z da camada de saída inicia a retropropagação."},
    "explain.backward": {"en": "Backward pass, layer {layer}",
                         "pt": "Retropropagação (backward), camada {layer}"},
    "explain.grad_sum": {"en": "Gradients of the whole batch: sums over its {n} samples.",
                         "pt": "Gradientes do lote inteiro: somas sobre suas {n} amostras."},
    "explain.delta_prev": {"en": "The error sent back to layer {layer}: ∂E/∂a = Σⱼ δⱼ·wⱼₖ, then δ = ∂E/∂a · f′(z) with {fprime}.",
                           "pt": "O erro enviado de volta à camada {layer}: ∂E/∂a = Σⱼ δⱼ·wⱼₖ, depois δ = ∂E/∂a · f′(z) com {fprime}."},
    "explain.update": {"en": "Weight update ({optimizer}, learning rate η = {lr})",
                       "pt": "Atualização dos pesos ({optimizer}, taxa de aprendizado η = {lr})"},
    "explain.hyper": {"en": "Settings: {values}.", "pt": "Configurações: {values}."},
    "explain.bias_corr": {"en": "Bias corrections at t = {t}: 1 − β₁ᵗ = {c1}, 1 − β₂ᵗ = {c2}.",
                          "pt": "Correções de viés em t = {t}: 1 − β₁ᵗ = {c1}, 1 − β₂ᵗ = {c2}."},
    "explain.layer": {"en": "layer {layer}", "pt": "camada {layer}"},
    "explain.chain": {"en": "Chain rule for w₁₁ (layer 1, from x₁ to h₁)",
                      "pt": "Regra da cadeia para w₁₁ (camada 1, de x₁ a h₁)"},
    "explain.chain_names": {
        "en": "Course notation: net_h₁ = z¹₁, h₁ = a¹₁, net_o = z²₁, o = a²₁, w₁₁ = w¹₁₁; one product per sample, summed over the batch.",
        "pt": "Notação do curso: net_h₁ = z¹₁, h₁ = a¹₁, net_o = z²₁, o = a²₁, w₁₁ = w¹₁₁; um produto por amostra, somado sobre o lote."},
    "explain.chain_check": {"en": "Backpropagation gives ∂E/∂w¹₁₁ = {value}: the same number.",
                            "pt": "A retropropagação dá ∂E/∂w¹₁₁ = {value}: o mesmo número."},
    "gradcheck.title": {
        "en": "Gradient check of step {step}: {checked} of {total} parameters{sample}, central differences in float64 (eps {eps}), {dtype} network",
        "pt": "Verificação do gradiente do passo {step}: {checked} de {total} parâmetros{sample}, diferenças centrais em float64 (eps {eps}), rede {dtype}"},
    "gradcheck.sample": {"en": " (a seeded random sample)", "pt": " (uma amostra aleatória com semente)"},
    "gradcheck.head": {"en": "parameter  backprop  finite diff.  rel. error",
                       "pt": "parâmetro  retroprop.  dif. finitas  erro rel."},
    "gradcheck.worst": {"en": "the {n} largest relative errors:",
                        "pt": "os {n} maiores erros relativos:"},
    "gradcheck.ok": {
        "en": "ok: backprop agrees with finite differences (max rel. error {rel}; tolerance rel {rtol}, abs {atol})",
        "pt": "ok: a retropropagação concorda com as diferenças finitas (maior erro rel. {rel}; tolerância rel {rtol}, abs {atol})"},
    "gradcheck.fail": {
        "en": "FAILED: {n} parameters disagree (max rel. error {rel}; tolerance rel {rtol}, abs {atol})",
        "pt": "FALHOU: {n} parâmetros discordam (maior erro rel. {rel}; tolerância rel {rtol}, abs {atol})"},
    "gradcheck.bad": {"en": "DISAGREES", "pt": "DISCORDA"},
    # ---- optimizer races on 2-D functions
    "race.step_of": {"en": "step {step}/{total}", "pt": "passo {step}/{total}"},
    "race.surface": {"en": "surface", "pt": "superfície"},
    "race.loss_per_step": {"en": "loss per step", "pt": "perda por passo"},
    "race.racer": {"en": "racer", "pt": "competidor"},
    "race.optimizer": {"en": "optimizer", "pt": "otimizador"},
    "race.lr": {"en": "lr", "pt": "taxa"},
    "race.point": {"en": "(x, y)", "pt": "(x, y)"},
    "race.loss": {"en": "f(x, y)", "pt": "f(x, y)"},
    "race.distance": {"en": "to minimum", "pt": "até o mínimo"},
    "race.diverged_at": {"en": "diverged at step {step}", "pt": "divergiu no passo {step}"},
    "race.start": {"en": "start", "pt": "início"},
    "race.minimum": {"en": "minimum", "pt": "mínimo"},
    "race.scale_log": {"en": "log colour scale", "pt": "cores em escala log"},
    "race.scale_linear": {"en": "linear colour scale", "pt": "cores em escala linear"},
    "msg.race_reset": {"en": "Back to the start: every optimizer's state is cleared",
                       "pt": "De volta ao início: o estado de cada otimizador foi zerado"},
    "msg.race_finished": {"en": "Race over after {steps} steps. Press r to run it again.",
                          "pt": "Corrida encerrada após {steps} passos. Tecle r para repetir."},
    "binding.restart": {"en": "Restart the race", "pt": "Reiniciar a corrida"},
    "binding.surface_scale": {"en": "Log / linear colour scale",
                              "pt": "Escala de cores log / linear"},
    "fn.rosenbrock": {"en": "a long curved valley: easy to find, slow to follow to its end",
                      "pt": "um vale longo e curvo: fácil de achar, lento de seguir até o fim"},
    "fn.beale": {"en": "flat plateaus and sharp ridges, with steep walls at the edges",
                 "pt": "platôs planos e cristas agudas, com paredes íngremes nas bordas"},
    "fn.himmelblau": {"en": "four equal minima: where an optimizer ends depends on its path",
                      "pt": "quatro mínimos iguais: onde o otimizador termina depende do caminho"},
    "fn.saddle": {"en": "a saddle point at (0, 0) between two valleys at (0, ±1)",
                  "pt": "um ponto de sela em (0, 0) entre dois vales em (0, ±1)"},
    "fn.ravine": {"en": "a narrow ravine, 100 times more curved across than along",
                  "pt": "uma ravina estreita, 100 vezes mais curva na largura que no comprimento"},
    "fn.rastrigin": {"en": "a bowl covered in local minima; the global one is at (0, 0)",
                     "pt": "uma tigela coberta de mínimos locais; o global fica em (0, 0)"},
    "fn.momentum": {"en": "a curved valley where momentum carries an optimizer along the bend",
                    "pt": "um vale curvo em que o momentum leva o otimizador pela curva"},
    # ---- the loss surface of a network
    "surface.title": {"en": "loss surface", "pt": "superfície de perda"},
    "surface.pca": {"en": "PCA of the path ({share}% of it)",
                    "pt": "PCA do caminho ({share}% dele)"},
    "surface.random": {"en": "random directions", "pt": "direções aleatórias"},
    "surface.path": {"en": "training path", "pt": "caminho do treino"},
    "surface.computing": {"en": "computing the loss surface…",
                          "pt": "calculando a superfície de perda…"},
    "surface.line_title": {"en": "loss from the initial (t = 0) to the current weights (t = 1)",
                           "pt": "perda dos pesos iniciais (t = 0) aos atuais (t = 1)"},
    "surface.line_loss": {"en": "loss", "pt": "perda"},
    "surface.info": {
        "en": "Slice around step {step}: {grid} grid, loss on {samples} training samples (training is at step {n}). α and β are steps along two directions in weight space; the red path is the training so far, projected on this plane.",
        "pt": "Corte em torno do passo {step}: grade {grid}, perda em {samples} amostras de treino (o treino está no passo {n}). α e β são passos ao longo de duas direções no espaço dos pesos; o caminho vermelho é o treino até agora, projetado neste plano."},
    "binding.directions": {"en": "PCA / random directions", "pt": "Direções PCA / aleatórias"},
    "binding.grid": {"en": "Grid size", "pt": "Tamanho da grade"},
    "binding.zoom_out": {"en": "Wider", "pt": "Mais amplo"},
    "binding.zoom_in": {"en": "Narrower", "pt": "Mais estreito"},
    "binding.contours": {"en": "Contour lines", "pt": "Curvas de nível"},
    "binding.surface_full": {"en": "Loss surface, full screen", "pt": "Superfície de perda em tela cheia"},
    "binding.panel_view": {"en": "Surface / weights over time (short terminal: gradient norms too)",
                           "pt": "Superfície / pesos ao longo do tempo (terminal baixo: normas do gradiente também)"},
    "binding.next_run": {"en": "Next run (scenarios comparing runs)",
                         "pt": "Próxima execução (cenários que comparam execuções)"},
    "msg.run_selected": {"en": "Showing run {label}; the loss panel draws every run",
                         "pt": "Mostrando a execução {label}; o painel de perda desenha todas"},
    # ---- image data (MNIST)
    "binding.digits_view": {"en": "Digits / confusion matrix / first-layer weights",
                            "pt": "Dígitos / matriz de confusão / pesos da primeira camada"},
    "digits.samples": {"en": "{split} digits: label → prediction (confidence)",
                       "pt": "dígitos de {split}: rótulo → predição (confiança)"},
    "digits.mistakes": {"en": "current mistakes, most confident first",
                        "pt": "erros atuais, os mais confiantes primeiro"},
    "digits.no_mistakes": {"en": "no mistakes among the {n} images evaluated",
                           "pt": "nenhum erro entre as {n} imagens avaliadas"},
    "digits.confusion": {"en": "confusion matrix · {split}, {n} images · accuracy {acc}",
                         "pt": "matriz de confusão · {split}, {n} imagens · acurácia {acc}"},
    "digits.true": {"en": "true", "pt": "real"},
    "digits.predicted": {"en": "predicted", "pt": "predição"},
    "digits.accuracy_col": {"en": "acc", "pt": "acur."},
    "digits.weights": {"en": "first-layer weights: what each neuron looks for",
                       "pt": "pesos da primeira camada: o que cada neurônio procura"},
    "digits.too_small": {"en": "too small: enlarge the terminal",
                         "pt": "pequeno demais: aumente o terminal"},
    # ---- training diagnostics (simtreino.analysis.diagnostics; docs/diagnostics.md)
    "diag.line": {"en": "finding: {title} (step {step}, epoch {epoch}{where}): {explanation} "
                        "Suggested cure: {cure}",
                  "pt": "diagnóstico: {title} (passo {step}, época {epoch}{where}): {explanation} "
                        "Sugestão: {cure}"},
    "diag.where_layer": {"en": ", layer {layer}", "pt": ", camada {layer}"},
    "diag.poor_initialisation.title": {"en": "poor initialisation", "pt": "inicialização ruim"},
    "diag.poor_initialisation.explain.symmetric": {
        "en": "Every unit of layer {layer} starts with the same weights, so all {units} compute "
              "the same thing and receive the same gradient: they can never become different, "
              "and the layer works like a single unit.",
        "pt": "Todos os {units} neurônios da camada {layer} começam com os mesmos pesos: calculam "
              "a mesma coisa e recebem o mesmo gradiente, então nunca se diferenciam, e a camada "
              "funciona como um único neurônio."},
    "diag.poor_initialisation.explain.large": {
        "en": "With the initial weights the signal grows layer by layer: at layer {layer} it is "
              "{gain:.3g} times the scale a well-initialised network keeps (pre-activations of "
              "RMS {z_rms:.3g}). Sigmoid and tanh units saturate, ReLU outputs blow up.",
        "pt": "Com os pesos iniciais o sinal cresce camada a camada: na camada {layer} ele está "
              "{gain:.3g} vezes maior que numa rede bem inicializada (pré-ativações com RMS "
              "{z_rms:.3g}). Neurônios sigmoid e tanh saturam; saídas ReLU explodem."},
    "diag.poor_initialisation.explain.small": {
        "en": "With the initial weights the signal shrinks layer by layer: at layer {layer} it "
              "is {gain:.2g} times the scale a well-initialised network keeps (pre-activations "
              "of RMS {z_rms:.2g}), and the gradients shrink with it.",
        "pt": "Com os pesos iniciais o sinal encolhe camada a camada: na camada {layer} ele está "
              "em {gain:.2g} vezes a escala de uma rede bem inicializada (pré-ativações com RMS "
              "{z_rms:.2g}), e os gradientes encolhem junto."},
    "diag.poor_initialisation.cure": {
        "en": "Initialise with {new_init} (Xavier for sigmoid/tanh, He for ReLU): it keeps the "
              "scale of the signal the same from layer to layer.",
        "pt": "Inicialize com {new_init} (Xavier para sigmoid/tanh, He para ReLU): ela mantém a "
              "escala do sinal igual de uma camada para a outra."},
    "diag.exploding_gradients.title": {"en": "exploding gradients",
                                       "pt": "explosão do gradiente"},
    "diag.exploding_gradients.explain.depth": {
        "en": "The gradient grows as it flows back: the first layer's gradient is {ratio:.3g} "
              "times the last layer's (per weight), about x{factor:.3g} per layer, so the first "
              "layers take huge steps.",
        "pt": "O gradiente cresce na retropropagação: o da primeira camada é {ratio:.3g} vezes "
              "o da última (por peso), cerca de x{factor:.3g} por camada, e as primeiras camadas "
              "dão passos enormes."},
    "diag.exploding_gradients.explain.growth": {
        "en": "The gradient norm grew to {norm:.3g}, {growth:.3g} times its value at the start.",
        "pt": "A norma do gradiente chegou a {norm:.3g}, {growth:.3g} vezes o valor do início."},
    "diag.exploding_gradients.cure.init": {
        "en": "Initialise with {new_init}: it keeps gradients the same size from layer to layer.",
        "pt": "Inicialize com {new_init}: ela mantém o gradiente do mesmo tamanho de uma camada "
              "para a outra."},
    "diag.exploding_gradients.cure.lr": {
        "en": "Lower the learning rate to {new_lr} (a tenth), or clip the gradient "
              "(training.clip_grad_norm).",
        "pt": "Diminua a taxa de aprendizado para {new_lr} (um décimo) ou recorte o gradiente "
              "(training.clip_grad_norm)."},
    "diag.vanishing_gradients.title": {"en": "vanishing gradients",
                                       "pt": "desvanecimento do gradiente"},
    "diag.vanishing_gradients.explain": {
        "en": "The gradient fades as it flows back through the {layers} layers: the first "
              "layer's gradient is only {ratio:.2g} times the last layer's (per weight), about "
              "x{factor:.2g} per layer (each layer multiplies it by its activation's derivative, "
              "at most 0.25 for a sigmoid). The first layers barely learn.",
        "pt": "O gradiente desvanece na retropropagação pelas {layers} camadas: o da primeira "
              "camada é só {ratio:.2g} vezes o da última (por peso), cerca de x{factor:.2g} por "
              "camada (cada camada o multiplica pela derivada da ativação, no máximo 0.25 na "
              "sigmoid). As primeiras camadas quase não aprendem."},
    "diag.vanishing_gradients.cure": {
        "en": "Use ReLU in the hidden layers with He initialisation ({new_init}): ReLU's "
              "derivative is 1 wherever it is active, so the gradient keeps its size.",
        "pt": "Use ReLU nas camadas ocultas com inicialização He ({new_init}): a derivada da "
              "ReLU vale 1 onde ela está ativa, e o gradiente mantém o tamanho."},
    "diag.vanishing_gradients.cure.init": {
        "en": "Initialise with {new_init} (He), made for ReLU networks: the gradient keeps its "
              "size from layer to layer.",
        "pt": "Inicialize com {new_init} (He), feita para redes ReLU: o gradiente mantém o "
              "tamanho de uma camada para a outra."},
    "diag.dead_relus.title": {"en": "dead ReLUs", "pt": "ReLUs mortas"},
    "diag.dead_relus.explain": {
        "en": "{dead} of the {units} ReLU units of layer {layer} ({fraction:.0%}) output 0 for "
              "every sample: they get no gradient and no longer learn.",
        "pt": "{dead} dos {units} neurônios ReLU da camada {layer} ({fraction:.0%}) dão 0 para "
              "todas as amostras: não recebem gradiente e não aprendem mais."},
    "diag.dead_relus.cure": {
        "en": "Use {new_activation}: its small slope below zero keeps a gradient flowing. A "
              "smaller learning rate also kills fewer units.",
        "pt": "Use {new_activation}: a pequena inclinação abaixo de zero mantém o gradiente "
              "passando. Uma taxa de aprendizado menor também mata menos neurônios."},
    "diag.saturated_units.title": {"en": "saturated units", "pt": "neurônios saturados"},
    "diag.saturated_units.explain": {
        "en": "{fraction:.0%} of the outputs of layer {layer} sit at the flat ends of the "
              "activation (pre-activations of RMS {z_rms:.3g}), where its derivative is nearly "
              "0: the gradient stops there. The network has removed only {progress:.0%} of the "
              "loss a constant guess makes.",
        "pt": "{fraction:.0%} das saídas da camada {layer} estão nas pontas planas da ativação "
              "(pré-ativações com RMS {z_rms:.3g}), onde a derivada é quase 0: o gradiente para "
              "ali. A rede só eliminou {progress:.0%} da perda de um palpite constante."},
    "diag.saturated_units.cure.normalize": {
        "en": "Standardise the inputs (data.normalize = \"{new_normalize}\"): large inputs push "
              "the units into saturation.",
        "pt": "Padronize as entradas (data.normalize = \"{new_normalize}\"): entradas grandes "
              "levam os neurônios à saturação."},
    "diag.saturated_units.cure.init": {
        "en": "Initialise with {new_init}: smaller initial weights keep the pre-activations "
              "near 0, where the activation is steep.",
        "pt": "Inicialize com {new_init}: pesos iniciais menores mantêm as pré-ativações perto "
              "de 0, onde a ativação é íngreme."},
    "diag.saturated_units.cure.lr": {
        "en": "Lower the learning rate to {new_lr}: large steps push the weights, and the "
              "pre-activations, into the flat ends.",
        "pt": "Diminua a taxa de aprendizado para {new_lr}: passos grandes levam os pesos, e as "
              "pré-ativações, para as pontas planas."},
    "diag.lr_too_high.title": {"en": "learning rate too high",
                               "pt": "taxa de aprendizado alta demais"},
    "diag.lr_too_high.explain.nan": {
        "en": "The loss became NaN: with learning rate {lr:g} the steps overshoot so far that "
              "the numbers overflow.",
        "pt": "A perda virou NaN: com taxa de aprendizado {lr:g} os passos passam tanto do ponto "
              "que os números estouram."},
    "diag.lr_too_high.explain.exploded": {
        "en": "The loss exploded: with learning rate {lr:g} each step overshoots the minimum "
              "and lands higher than the last.",
        "pt": "A perda explodiu: com taxa de aprendizado {lr:g} cada passo passa do mínimo e "
              "cai mais alto que o anterior."},
    "diag.lr_too_high.explain.rising": {
        "en": "The loss went back up: {loss:.3g} now, {best:.3g} at its best. With learning "
              "rate {lr:g} the steps overshoot the minimum.",
        "pt": "A perda voltou a subir: {loss:.3g} agora, {best:.3g} no melhor momento. Com taxa "
              "de aprendizado {lr:g} os passos passam do mínimo."},
    "diag.lr_too_high.explain.oscillating": {
        "en": "The loss jumps up and down (by {amplitude:.3g} on average) instead of going "
              "down: with learning rate {lr:g} the steps overshoot the valley from side to side.",
        "pt": "A perda sobe e desce (em média {amplitude:.3g}) em vez de cair: com taxa de "
              "aprendizado {lr:g} os passos atravessam o vale de um lado para o outro."},
    "diag.lr_too_high.cure": {
        "en": "Lower the learning rate to {new_lr} (a tenth), or clip the gradient "
              "(training.clip_grad_norm).",
        "pt": "Diminua a taxa de aprendizado para {new_lr} (um décimo) ou recorte o gradiente "
              "(training.clip_grad_norm)."},
    "diag.lr_too_low.title": {"en": "learning rate too low",
                              "pt": "taxa de aprendizado baixa demais"},
    "diag.lr_too_low.explain": {
        "en": "The loss has barely moved: {fell:.1%} of a constant guess's loss removed after "
              "{share:.0%} of the run, with the parameters changing by {update:.1e} (relative) "
              "per step. With learning rate {lr:g} the steps are tiny.",
        "pt": "A perda quase não se mexeu: {fell:.1%} da perda de um palpite constante "
              "eliminada depois de {share:.0%} do treinamento, com os parâmetros mudando "
              "{update:.1e} (relativo) por passo. Com taxa de aprendizado {lr:g} os passos são "
              "minúsculos."},
    "diag.lr_too_low.cure": {
        "en": "Raise the learning rate to {new_lr} (ten times).",
        "pt": "Aumente a taxa de aprendizado para {new_lr} (dez vezes)."},
    "diag.overfitting.title": {"en": "overfitting", "pt": "overfitting (sobreajuste)"},
    "diag.overfitting.explain": {
        "en": "The validation loss rises ({val_loss:.3g}, {gl:.0%} above its best, {best_val:.3g} "
              "at epoch {best_epoch}) while the training loss keeps falling ({loss_at_best:.3g} "
              "-> {loss:.3g}): the network memorises the training samples instead of learning "
              "the pattern.",
        "pt": "A perda de validação sobe ({val_loss:.3g}, {gl:.0%} acima da melhor, "
              "{best_val:.3g} na época {best_epoch}) enquanto a perda de treinamento continua "
              "caindo ({loss_at_best:.3g} -> {loss:.3g}): a rede memoriza as amostras de "
              "treinamento em vez de aprender o padrão."},
    "diag.overfitting.cure.data": {
        "en": "Train on more data (data.n_samples = {new_n_samples}), use a smaller network, "
              "penalise large weights ([regularization] l2) or stop early "
              "([training.early_stopping]).",
        "pt": "Treine com mais dados (data.n_samples = {new_n_samples}), use uma rede menor, "
              "penalize pesos grandes ([regularization] l2) ou pare antes "
              "([training.early_stopping])."},
    "diag.overfitting.cure.epochs": {
        "en": "Stop at epoch {new_epochs}, where the validation loss was lowest (early "
              "stopping does it for you: [training.early_stopping]), penalise large weights "
              "([regularization] l2) or use a smaller network.",
        "pt": "Pare na época {new_epochs}, onde a perda de validação foi a menor (a parada "
              "antecipada faz isso sozinha: [training.early_stopping]), penalize pesos grandes "
              "([regularization] l2) ou use uma rede menor."},
    "diag.underfitting.title": {"en": "underfitting", "pt": "underfitting (subajuste)"},
    "diag.underfitting.explain": {
        "en": "The loss stays high and flat: {loss:.3g}, only {progress:.0%} below the loss of a "
              "constant guess ({chance:.3g}). The model is too simple, or trained too little, "
              "for this data.",
        "pt": "A perda fica alta e parada: {loss:.3g}, só {progress:.0%} abaixo da perda de um "
              "palpite constante ({chance:.3g}). O modelo é simples demais, ou treinou pouco, "
              "para estes dados."},
    "diag.underfitting.cure.wider": {
        "en": "Give the network more capacity: {new_units} units per hidden layer (twice as "
              "many), or another hidden layer.",
        "pt": "Dê mais capacidade à rede: {new_units} neurônios por camada oculta (o dobro) ou "
              "mais uma camada oculta."},
    "diag.underfitting.cure.hidden": {
        "en": "Add a hidden layer (16 tanh units): a network without one only draws straight "
              "boundaries.",
        "pt": "Acrescente uma camada oculta (16 neurônios tanh): uma rede sem ela só traça "
              "fronteiras retas."},
    # ---- alerts (diagnostics in the terminal UI)
    "binding.alerts": {"en": "Alerts", "pt": "Alertas"},
    "binding.apply_cure": {"en": "Try the cure (in a copy of the run)",
                           "pt": "Testar a cura (numa cópia da execução)"},
    "alerts.title": {"en": "What the diagnostics found", "pt": "O que o diagnóstico encontrou"},
    "alerts.none": {"en": "No problems found so far.", "pt": "Nenhum problema encontrado até agora."},
    "alerts.line": {"en": "{title} · step {step}{where}", "pt": "{title} · passo {step}{where}"},
    "alerts.where_layer": {"en": " · layer {layer}", "pt": " · camada {layer}"},
    "alerts.evidence": {"en": "evidence", "pt": "evidência"},
    "alerts.cure": {"en": "cure", "pt": "cura"},
    "alerts.cure_key": {"en": "Press c to train a copy of this run with the cure applied.",
                        "pt": "Tecle c para treinar uma cópia desta execução com a cura aplicada."},
    "alerts.banner": {"en": "⚠ {title}: {explanation}  (! for the {n} alert(s) and their cures)",
                      "pt": "⚠ {title}: {explanation}  (! para os {n} alerta(s) e suas curas)"},
    "alerts.cured_description": {
        "en": "A copy of \"{name}\" with the cure for {title} applied: {cure} Everything else "
              "is as it was; r resets, and the picker (o) goes back to the original.",
        "pt": "Uma cópia de \"{name}\" com a cura para {title} aplicada: {cure} Todo o resto "
              "ficou igual; r reinicia, e o seletor (o) volta ao original."},
    "alerts.cured_name": {"en": "{name} (cure for {title})", "pt": "{name} (cura para {title})"},
    # ---- training craft in the terminal UI: the form, the header, the network drawing
    "hyper.regularization": {"en": "regularisation (penalty on the weights)",
                             "pt": "regularização (penalidade nos pesos)"},
    "hyper.clipping": {"en": "gradient clipping",
                       "pt": "recorte do gradiente (gradient clipping)"},
    "hyper.dropout": {"en": "dropout (hidden layers; 0 = off)",
                      "pt": "dropout (camadas ocultas; 0 = desligado)"},
    "hyper.dropout_layer": {"en": "layer {layer}", "pt": "camada {layer}"},
    "hyper.early_stopping": {"en": "early stopping (watching {monitor})",
                             "pt": "parada antecipada (early stopping), observando {monitor}"},
    "doc.l1_penalty": {"en": "L1 penalty: l1 * sum |w| added to the loss",
                       "pt": "penalidade L1: l1 · Σ|w| somada à perda"},
    "doc.l2_penalty": {"en": "L2 penalty: l2 * sum w^2 added to the loss",
                       "pt": "penalidade L2: l2 · Σw² somada à perda"},
    "doc.clip_grad_norm": {"en": "largest 2-norm of the whole gradient (0: no clipping)",
                           "pt": "maior norma 2 do gradiente inteiro (0: sem recorte)"},
    "doc.clip_grad_value": {"en": "largest magnitude of each gradient component (0: off)",
                            "pt": "maior módulo de cada componente do gradiente (0: desligado)"},
    "doc.es_patience": {"en": "epochs without improvement before stopping",
                        "pt": "épocas sem melhora antes de parar"},
    "doc.es_min_delta": {"en": "smallest change that counts as an improvement",
                         "pt": "menor mudança que conta como melhora"},
    "doc.es_restore_best": {"en": "go back to the weights of the best epoch",
                            "pt": "voltar aos pesos da melhor época"},
    "doc.dropout": {"en": "probability of zeroing each output in training",
                    "pt": "probabilidade de zerar cada saída no treinamento"},
    "header.penalty": {"en": "penalty", "pt": "penalidade"},
    "header.loss_penalty": {"en": "{loss} (penalty {penalty})",
                            "pt": "{loss} (penalidade {penalty})"},
    "panel.clip": {"en": " clipping by norm: |g| {norm} → ×{coef} ",
                   "pt": " recorte pela norma: |g| {norm} → ×{coef} "},
    "header.patience": {"en": "patience {wait}/{patience}", "pt": "paciência {wait}/{patience}"},
    "panel.penalty": {"en": "penalty", "pt": "penalidade"},
    "net.batchnorm": {"en": "BN", "pt": "BN"},
    "net.dropout": {"en": "drop {p}", "pt": "drop {p}"},
    "net.residual": {"en": "+skip", "pt": "+skip"},
    # ---- training craft in the step-through walk-through (explain, inspector)
    "explain.pipeline": {"en": "This layer: {steps}. The next layer receives {out}.",
                         "pt": "Esta camada: {steps}. A próxima camada recebe {out}."},
    "explain.bn_stats": {
        "en": "Batch normalisation, between the product and the activation: each unit's mean μ "
              "and 1/σ = 1/√(var + ε) over the whole batch of {n} samples (biased variance, "
              "ε = 1e-5); γ and β are learned.",
        "pt": "Normalização por lotes (batch normalization), entre o produto e a ativação: média "
              "μ e 1/σ = 1/√(var + ε) de cada neurônio sobre o lote inteiro de {n} amostras "
              "(variância enviesada, ε = 1e-5); γ e β são aprendidos."},
    "explain.dropout": {
        "en": "Dropout p = {p}: each output is zeroed (mask 0) with probability {p}, or kept and "
              "scaled by 1/(1 − p) (mask {keep}); new masks every step, none in evaluation.",
        "pt": "Dropout p = {p}: cada saída é zerada (máscara 0) com probabilidade {p}, ou mantida "
              "e multiplicada por 1/(1 − p) (máscara {keep}); máscaras novas a cada passo, "
              "nenhuma na avaliação."},
    "explain.residual": {
        "en": "Residual connection: the layer's input is added to its output (out = … + in).",
        "pt": "Conexão residual: a entrada da camada é somada à sua saída (out = … + in)."},
    "explain.penalty_word": {"en": "penalty", "pt": "penalidade"},
    "explain.penalty": {
        "en": "The penalty is on the weights only (not biases, not γ/β); the training loss shown "
              "is E + penalty (the objective). δ below is of the data loss E; the penalty's "
              "gradient, {grad}, joins each weight's gradient in the backward pass.",
        "pt": "A penalidade incide só nos pesos (não nos vieses nem em γ/β); a perda de "
              "treinamento mostrada é E + penalidade (o objetivo). O δ abaixo é da perda dos "
              "dados E; o gradiente da penalidade, {grad}, soma-se ao gradiente de cada peso na "
              "retropropagação."},
    "explain.penalty_grad": {
        "en": "Each weight's gradient = the data's part Σₛ δ·in + the penalty's part {grad}.",
        "pt": "Gradiente de cada peso = parte dos dados Σₛ δ·in + parte da penalidade {grad}."},
    "explain.bn_bias": {
        "en": "The bias before batch normalisation gets exactly zero gradient: subtracting the "
              "batch mean cancels any shift, so b changes nothing (β does its job).",
        "pt": "O viés antes da normalização por lotes recebe gradiente exatamente zero: subtrair "
              "a média do lote cancela qualquer deslocamento, então b não muda nada (β faz esse "
              "papel)."},
    "explain.bn_grads": {
        "en": "Batch norm's parameters: ∂E/∂γⱼ = Σₛ ∂E/∂yₛⱼ·ẑₛⱼ and ∂E/∂βⱼ = Σₛ ∂E/∂yₛⱼ "
              "(∂E/∂y from the page before).",
        "pt": "Parâmetros da normalização: ∂E/∂γⱼ = Σₛ ∂E/∂yₛⱼ·ẑₛⱼ e ∂E/∂βⱼ = Σₛ ∂E/∂yₛⱼ "
              "(∂E/∂y vem da página anterior)."},
    "explain.delta_prev_craft": {
        "en": "The error sent back to layer {layer}: {steps};  with {fprime}.",
        "pt": "O erro enviado de volta à camada {layer}: {steps};  com {fprime}."},
    "explain.skip_share": {"en": "the skip connection's share",
                           "pt": "a parcela da conexão residual"},
    "explain.bn_delta": {
        "en": "Batch norm's backward mixes the samples of the batch: with m₁ = the batch mean of "
              "∂E/∂y and m₂ = the batch mean of ∂E/∂y·ẑ, δ = ∂E/∂z = γ·(1/σ)·(∂E/∂y − m₁ − ẑ·m₂).",
        "pt": "A retropropagação da normalização mistura as amostras do lote: com m₁ = média de "
              "∂E/∂y no lote e m₂ = média de ∂E/∂y·ẑ no lote, δ = ∂E/∂z = "
              "γ·(1/σ)·(∂E/∂y − m₁ − ẑ·m₂)."},
    "explain.bn_whole_batch": {"en": "from batch norm's backward, over the whole batch",
                               "pt": "da retropropagação da normalização, sobre o lote inteiro"},
    "explain.clip_norm": {
        "en": "Gradient clipping by norm (torch's clip_grad_norm_): ‖g‖ over all {n} parameters; "
              "when max_norm/(‖g‖ + 1e-6) < 1 the whole gradient is scaled by it. The update "
              "below uses the clipped g (∂E/∂w: before clipping).",
        "pt": "Recorte do gradiente (gradient clipping) pela norma (clip_grad_norm_ do torch): "
              "‖g‖ sobre todos os {n} parâmetros; quando max_norm/(‖g‖ + 1e-6) < 1 o gradiente "
              "inteiro é multiplicado por esse fator. A atualização abaixo usa o g recortado "
              "(∂E/∂w: antes do recorte)."},
    "explain.clip_none": {"en": "≥ 1: no clipping needed", "pt": "≥ 1: não precisou recortar"},
    "explain.clip_value": {
        "en": "Gradient clipping by value (torch's clip_grad_value_): each component of the "
              "gradient is clamped to [−{v}, {v}]; the update below uses the clamped g (∂E/∂w: "
              "before clipping).",
        "pt": "Recorte do gradiente (gradient clipping) por valor (clip_grad_value_ do torch): "
              "cada componente do gradiente é limitado a [−{v}, {v}]; a atualização abaixo usa o "
              "g limitado (∂E/∂w: antes do recorte)."},
    "explain.clamped": {"en": "  clamped: {items}", "pt": "  limitados: {items}"},
    "explain.clamped_none": {"en": "  no component clamped",
                             "pt": "  nenhum componente limitado"},
    "inspector.halted_stopped": {
        "en": "Early stopping has ended this run: no step left to inspect (b or Esc: back; "
              "r on the dashboard resets it).",
        "pt": "A parada antecipada encerrou este treinamento: não há passo para inspecionar "
              "(b ou Esc: voltar; r no painel reinicia)."},
    "inspector.halted_diverged": {
        "en": "The run has diverged: no step left to inspect (b or Esc: back; r on the "
              "dashboard resets it).",
        "pt": "O treinamento divergiu: não há passo para inspecionar (b ou Esc: voltar; r no "
              "painel reinicia)."},
}

_lang = "en"
_STRICT_ENV = ("PYTEST_CURRENT_TEST", "SIMTREINO_STRICT_I18N")


def default_lang(environ=os.environ) -> str:
    """"pt" when the locale asks for Portuguese, else "en".

    ``SIMTREINO_LANG`` (en or pt) wins; then the first non-empty of
    ``LC_ALL``, ``LC_MESSAGES``, ``LANG`` (POSIX precedence) decides:
    ``pt_BR.UTF-8``, ``pt_PT``, ``pt`` give "pt".
    """
    forced = (environ.get("SIMTREINO_LANG") or "").strip().lower()
    if forced in LANGS:
        return forced
    for var in ("LC_ALL", "LC_MESSAGES", "LANG"):
        value = (environ.get(var) or "").strip()
        if value:
            return "pt" if value.lower().startswith("pt") else "en"
    return "en"


def set_lang(lang: str) -> None:
    """Make ``lang`` ("en" or "pt") the language of ``t``."""
    global _lang
    if lang not in LANGS:
        raise ValueError(f"unknown language {lang!r}; expected one of {', '.join(LANGS)}")
    _lang = lang


def get_lang() -> str:
    return _lang


def _strict() -> bool:
    return any(v in os.environ for v in _STRICT_ENV)


class _Keep(dict):
    """format_map helper: leaves unknown placeholders as they are."""

    def __missing__(self, key):
        return "{" + key + "}"


def t(key: str, **kw) -> str:
    """The message ``key`` in the current language, placeholders filled."""
    entry = MESSAGES.get(key)
    if entry is None:
        if _strict():
            raise KeyError(key)
        return key
    text = entry.get(_lang) or entry["en"]
    if not kw and "{" not in text:
        return text
    try:
        return text.format(**kw)
    except (KeyError, IndexError, ValueError):
        if _strict():
            raise
        try:
            return text.format_map(_Keep(kw))
        except (IndexError, ValueError):
            return text


def placeholders(text: str) -> set:
    """The names of the ``str.format`` fields in ``text``."""
    return {name for _, name, _, _ in string.Formatter().parse(text) if name is not None}


# Decimals are written with a point in both languages (as code and the
# course's formulas do), so Portuguese cannot group thousands with one:
# "1.056" would read as a decimal, and "1,056" does to a Brazilian.
THOUSANDS = {"en": ",", "pt": "\u00a0"}


def thousands_separator() -> str:
    return THOUSANDS[_lang]


def grouped(n: float) -> str:
    """A whole number with its thousands grouped for the current language:
    ``109,386`` in English, ``109 386`` (a no-break space) in Portuguese."""
    return f"{n:,.0f}".replace(",", thousands_separator())


def scenario_name(scenario, lang: str | None = None) -> str:
    """The scenario's name in ``lang`` (default: the current language):
    ``name_pt`` when Portuguese is asked and it is not empty."""
    if (lang or _lang) == "pt":
        pt = getattr(scenario, "name_pt", "") or ""
        if pt.strip():
            return pt
    return getattr(scenario, "name", "") or ""


def scenario_description(scenario, lang: str | None = None) -> str:
    """The scenario's description in ``lang`` (default: the current language):
    ``description_pt`` when Portuguese is asked and it is not empty."""
    lang = lang or _lang
    if lang == "pt":
        pt = getattr(scenario, "description_pt", "") or ""
        if pt.strip():
            return pt
    return getattr(scenario, "description", "") or ""


_NOUNS = ("expected.a_finite_number", "expected.a_pair", "expected.a_number",
          "expected.an_integer", "expected.numbers", "expected.bool")


def expected_text(what: str) -> str:
    """``expected …`` in the current language, from the English text that
    ``Hyper.check`` puts in its ValueError ("a number >= 0", "an integer in
    [1, 10]", "a pair of numbers in [0, 1)", "true or false")."""
    out = what
    if _lang != "en":
        for key in _NOUNS:
            noun = MESSAGES[key]["en"]
            if what == noun or what.startswith(noun + " "):
                rest = what[len(noun):]
                if rest.startswith(" in "):
                    rest = " " + t("expected.in") + rest[3:]
                out = t(key) + rest
                break
    return t("expected.prefix", what=out)


_DOCS: dict | None = None


def doc_text(doc: str) -> str:
    """A core ``Hyper.doc`` text in the current language (itself if unknown)."""
    global _DOCS
    if _DOCS is None:
        _DOCS = {v["en"]: k for k, v in MESSAGES.items() if k.startswith("doc.")}
    key = _DOCS.get(doc)
    return t(key) if key else doc


_lang = default_lang()
