"""The user front end: your files in (:mod:`.reading`), a trained model (:mod:`.model`), ranked
edges out (:mod:`.ranking`, in the formats of :data:`grnlib.formats.FORMATS`). It stands on the run pipeline
(:mod:`grnlib.evaluation`), never under it."""
from grnlib.formats import edge_weight
from grnlib.user.model import (MODEL_FILE, UserModel, load_user_model, resolve_user_spec, save_user_model,
                               train_user_model, write_user_model)
from grnlib.user.ranking import (OUTPUT_COLUMNS, OUTPUT_FORMATS, as_format, prior_roles, priors_as_ids, rank_edges,
                                 write_ranked)
from grnlib.user.reading import (cli_wording, load_params_file, read_priors, read_tf_list, read_user_expression,
                                 user_dataset)

__all__ = ["MODEL_FILE", "OUTPUT_COLUMNS", "OUTPUT_FORMATS", "UserModel", "as_format", "cli_wording", "edge_weight",
           "load_params_file", "load_user_model", "prior_roles", "priors_as_ids", "rank_edges", "read_priors",
           "read_tf_list", "read_user_expression", "resolve_user_spec", "save_user_model", "train_user_model",
           "user_dataset", "write_ranked", "write_user_model"]
