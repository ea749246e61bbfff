//! The path functions `shortestPath()`, `dijkstra()` and `astar()`, as OrientDB's
//! `core/src/main/java/com/orientechnologies/orient/core/sql/functions/graph/`
//! (`OSQLFunctionShortestPath`, `OSQLFunctionDijkstra`, `OSQLFunctionAstar`,
//! `OSQLFunctionHeuristicPathFinderAbstract`) define them.
//!
//! - `shortestPath(from, to [, direction [, edgeTypes [, {maxDepth, edge}]]])` is a
//!   bidirectional breadth-first search: the smaller frontier grows one level at a time, and the
//!   path is the list of RIDs where the two meet (with `edge: true`, edges between vertices).
//! - `astar(from, to, weightField [, options])` is A* over edge weights (a missing weight is 0),
//!   with the heuristics MANHATAN, MAXAXIS, DIAGONAL, EUCLIDEAN, EUCLIDEANNOSQR over
//!   `vertexAxisNames`, the tie breaker and `maxDepth`/`emptyIfMaxDepth` as OrientDB has them.
//!   `dijkstra(from, to, weightField [, direction])` is `astar` without axes and with
//!   `emptyIfMaxDepth`, as in OrientDB.
//!
//! The open set is a binary heap that sifts as `java.util.PriorityQueue` does, so equal scores
//! come out in OrientDB's order; neighbours come in link-bag order (OrientDB iterates a
//! `HashSet` of edges, an order it does not define). Every expansion counts against the query's
//! watch, and the open set is bounded by [`MAX_COLLECTION_ITEMS`].
//!
//! Not done: `heuristicFormula: 'CUSTOM'` (it calls a stored function; Basalt has none).

use std::cmp::Ordering;
use std::collections::{HashMap, HashSet, VecDeque};

use basalt_engine::{Direction, RecordKind, Rid, Value};

use super::eval::{items, too_many, Env};
use super::rows::{show, Res};
use super::MAX_COLLECTION_ITEMS;
use crate::query::QueryError;

fn invalid(m: impl Into<String>) -> QueryError {
    QueryError::Invalid(m.into())
}

/// The one vertex an argument names (a RID, a record, or a one-element list of them, as
/// `OSQLFunctionShortestPath.getSingleItem` and `OMultiValue.getFirstValue` accept).
fn vertex_arg(env: &Env<'_>, v: &Value, what: &str) -> Res<Rid> {
    let single = match v {
        Value::List(i) | Value::Set(i) if i.len() > 1 => {
            return Err(invalid(format!("only one {what} is allowed, not {} values", i.len())))
        }
        Value::List(i) | Value::Set(i) => i.first().cloned().unwrap_or(Value::Null),
        other => other.clone(),
    };
    let rid = match &single {
        Value::Link(r) => Some(*r),
        Value::Embedded(d) => d.get("@rid").and_then(Value::as_rid),
        _ => None,
    };
    let record = match rid {
        Some(r) => env.load(r)?,
        None => None,
    };
    match record {
        Some(r) if r.kind() == RecordKind::Vertex => Ok(r.rid),
        _ => Err(invalid(format!("the {what} must be a vertex record, not {}", show(&single)))),
    }
}

/// `'out'`, `'in'`, `'both'` in any case (`ODirection.valueOf`); `None` is both.
fn direction_arg(v: &Value) -> Res<Option<Direction>> {
    match v {
        Value::String(s) => match s.to_ascii_uppercase().as_str() {
            "OUT" => Ok(Some(Direction::Out)),
            "IN" => Ok(Some(Direction::In)),
            "BOTH" => Ok(None),
            _ => Err(invalid(format!("unknown direction '{s}'; expected OUT, IN or BOTH"))),
        },
        other => Err(invalid(format!("the direction must be OUT, IN or BOTH, not {}", show(other)))),
    }
}

/// Edge class names: a string (`'a,b'` for several, as `stringArray` splits) or a list of
/// strings.
fn names_arg(v: &Value, what: &str) -> Res<Vec<String>> {
    let mut out = Vec::new();
    for item in items(v.clone()) {
        match item {
            Value::String(s) => out.extend(s.split(',').map(|p| p.trim().to_string()).filter(|p| !p.is_empty())),
            other => return Err(invalid(format!("{what} must be strings, not {}", show(&other)))),
        }
    }
    Ok(out)
}

/// An options argument as name → value (a map literal or a document).
fn options_arg(v: &Value) -> Res<HashMap<String, Value>> {
    match v {
        Value::Null => Ok(HashMap::new()),
        Value::Map(m) => Ok(m.iter().map(|(k, v)| (k.clone(), v.clone())).collect()),
        Value::Embedded(d) => Ok(d.iter().map(|(k, v)| (k.to_string(), v.clone())).collect()),
        other => Err(invalid(format!("the options must be a map such as {{maxDepth: 3}}, not {}", show(other)))),
    }
}

/// A number (or a string holding one) as OrientDB's `doubleOrDefault` reads it.
fn number_or(v: Option<&Value>, default: f64) -> f64 {
    match v {
        Some(Value::String(s)) => s.trim().parse().unwrap_or(default),
        Some(v) => v.as_f64().unwrap_or(default),
        None => default,
    }
}

/// A boolean as `booleanOrDefault` reads it (`Boolean.parseBoolean` for strings).
fn bool_or(v: Option<&Value>, default: bool) -> bool {
    match v {
        Some(Value::Bool(b)) => *b,
        Some(Value::String(s)) => s.eq_ignore_ascii_case("true"),
        _ => default,
    }
}

/// The labels a search follows, as the engine wants them.
fn label_refs(labels: &[String]) -> Vec<&str> {
    labels.iter().map(String::as_str).collect()
}

/// What the bidirectional search needs.
struct Bfs<'a, 'e> {
    /// The read view.
    env: &'a Env<'e>,
    /// Direction walked from the source (`None`: both).
    left_dir: Option<Direction>,
    /// Direction walked from the destination: the opposite.
    right_dir: Option<Direction>,
    /// Edge classes followed (empty: all).
    labels: Vec<String>,
    /// Whether the path lists the edges between its vertices.
    edges: bool,
}

/// Which way one half of the search grows.
struct Half {
    /// The frontier.
    queue: VecDeque<Rid>,
    /// Everything this half reached.
    visited: HashSet<Rid>,
    /// For each reached RID, the one it was reached from (vertex → edge → vertex with edges).
    back: HashMap<Rid, Rid>,
}

impl Half {
    fn new(start: Rid) -> Half {
        Half { queue: VecDeque::from([start]), visited: HashSet::from([start]), back: HashMap::new() }
    }
}

/// `shortestPath(from, to [, direction [, edgeTypes [, options]]])`.
pub(crate) fn shortest_path(env: &Env<'_>, args: &[Value]) -> Res<Value> {
    let from = vertex_arg(env, &args[0], "sourceVertex")?;
    let to = vertex_arg(env, &args[1], "destinationVertex")?;
    if from == to {
        return Ok(Value::List(vec![Value::Link(to)]));
    }
    let left_dir = match args.get(2) {
        Some(Value::Null) | None => None,
        Some(v) => direction_arg(v)?,
    };
    let right_dir = left_dir.map(|d| if d == Direction::Out { Direction::In } else { Direction::Out });
    let labels = match args.get(3) {
        Some(Value::Null) | None => Vec::new(),
        Some(v) => names_arg(v, "edge types")?,
    };
    let options = options_arg(args.get(4).unwrap_or(&Value::Null))?;
    let max_depth = match options.get("maxDepth") {
        Some(Value::String(s)) => s.trim().parse::<i64>().ok(),
        Some(v) => v.as_f64().map(|d| d as i64),
        None => None,
    };
    let bfs = Bfs { env, left_dir, right_dir, labels, edges: bool_or(options.get("edge"), false) };
    let path = bfs.run(from, to, max_depth)?;
    Ok(Value::List(path.into_iter().map(Value::Link).collect()))
}

impl Bfs<'_, '_> {
    /// `OSQLFunctionShortestPath.execute`'s loop: grow the smaller frontier, then the other,
    /// counting depth per level, until they meet, one empties or `maxDepth` is reached.
    fn run(&self, from: Rid, to: Rid, max_depth: Option<i64>) -> Res<Vec<Rid>> {
        let (mut left, mut right) = (Half::new(from), Half::new(to));
        let reached = |depth: i64| max_depth.is_some_and(|m| m <= depth);
        let mut depth = 1;
        loop {
            if reached(depth) || left.queue.is_empty() || right.queue.is_empty() {
                return Ok(Vec::new());
            }
            let left_first = left.queue.len() <= right.queue.len();
            let (first, second) = if left_first { (&mut left, &mut right) } else { (&mut right, &mut left) };
            let dirs = if left_first { (self.left_dir, self.right_dir) } else { (self.right_dir, self.left_dir) };
            if let Some(meet) = self.walk(first, second, dirs.0)? {
                return Ok(self.path(&left, &right, meet));
            }
            depth += 1;
            if reached(depth) || first.queue.is_empty() {
                return Ok(Vec::new());
            }
            if let Some(meet) = self.walk(second, first, dirs.1)? {
                return Ok(self.path(&left, &right, meet));
            }
            depth += 1;
        }
    }

    /// One level of one half (`walkLeft` / `walkRight`): the RID where it met the other half.
    fn walk(&self, this: &mut Half, other: &Half, dir: Option<Direction>) -> Res<Option<Rid>> {
        let labels = label_refs(&self.labels);
        let mut next = VecDeque::new();
        while let Some(current) = this.queue.pop_front() {
            self.env.tick()?;
            for (edge, vertex) in self.env.neighbours(current, dir, &labels)? {
                let seen = other.visited.contains(&vertex);
                if seen || !this.visited.contains(&vertex) {
                    if self.edges {
                        this.back.insert(vertex, edge);
                        this.back.insert(edge, current);
                    } else {
                        this.back.insert(vertex, current);
                    }
                }
                if seen {
                    return Ok(Some(vertex));
                }
                if this.visited.insert(vertex) {
                    next.push_back(vertex);
                    if next.len() > MAX_COLLECTION_ITEMS {
                        return Err(too_many());
                    }
                }
            }
        }
        this.queue = next;
        Ok(None)
    }

    /// `computePath`: back from the meeting point to the source, then on to the destination.
    fn path(&self, left: &Half, right: &Half, meet: Rid) -> Vec<Rid> {
        let mut head = vec![meet];
        let mut at = meet;
        while let Some(prev) = left.back.get(&at) {
            head.push(*prev);
            at = *prev;
        }
        head.reverse();
        let mut at = meet;
        while let Some(next) = right.back.get(&at) {
            head.push(*next);
            at = *next;
        }
        head
    }
}

/// The A* heuristics (`HeuristicFormula`).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum Formula {
    Manhattan,
    MaxAxis,
    Diagonal,
    Euclidean,
    EuclideanNoSqr,
}

/// `astar()`'s parameters (`OSQLFunctionHeuristicPathFinderAbstract`'s fields).
struct Astar {
    /// The weight field of an edge.
    weight: String,
    /// Which edges of a vertex are followed (`None`: both).
    direction: Option<Direction>,
    /// Edge classes followed (empty: all).
    labels: Vec<String>,
    /// Vertex fields that place a vertex, for the heuristic.
    axes: Vec<String>,
    /// Expansions before the search stops.
    max_depth: i64,
    /// Whether reaching `max_depth` gives an empty path rather than the path so far.
    empty_if_max_depth: bool,
    /// Whether the heuristic is nudged towards the straight line (`getTieBreakingHeuristicCost`).
    tie_breaker: bool,
    /// The heuristic's scale.
    d_factor: f64,
    /// The heuristic.
    formula: Formula,
}

/// `dijkstra(from, to, weightField [, direction])`: `astar` with `emptyIfMaxDepth` and no
/// axes (`OSQLFunctionDijkstra.toAStarParams`).
pub(crate) fn dijkstra(env: &Env<'_>, args: &[Value]) -> Res<Value> {
    let mut options = std::collections::BTreeMap::new();
    options.insert("emptyIfMaxDepth".to_string(), Value::Bool(true));
    if let Some(d) = args.get(3) {
        options.insert("direction".to_string(), d.clone());
    }
    astar(env, &[args[0].clone(), args[1].clone(), args[2].clone(), Value::Map(options)])
}

/// `astar(from, to, weightField [, options])`.
pub(crate) fn astar(env: &Env<'_>, args: &[Value]) -> Res<Value> {
    let from = vertex_arg(env, &args[0], "sourceVertex")?;
    let to = vertex_arg(env, &args[1], "destinationVertex")?;
    let a = astar_options(&args[2], args.get(3).unwrap_or(&Value::Null))?;
    let path = a.run(env, from, to)?;
    Ok(Value::List(path.into_iter().map(Value::Link).collect()))
}

/// The weight field (`OIOUtils.getStringContent` drops surrounding quotes) and the options.
fn astar_options(weight: &Value, options: &Value) -> Res<Astar> {
    let Value::String(weight) = weight else {
        return Err(invalid(format!("the weight field must be a string, not {}", show(weight))));
    };
    let weight = strip_quotes(weight);
    let o = options_arg(options)?;
    let direction = match o.get("direction") {
        None | Some(Value::Null) => Some(Direction::Out),
        Some(v) => direction_arg(v)?,
    };
    let formula = match o.get("heuristicFormula") {
        None | Some(Value::Null) => Formula::Manhattan,
        Some(Value::String(s)) => match s.to_ascii_uppercase().as_str() {
            "MANHATAN" => Formula::Manhattan,
            "MAXAXIS" => Formula::MaxAxis,
            "DIAGONAL" => Formula::Diagonal,
            "EUCLIDEAN" => Formula::Euclidean,
            "EUCLIDEANNOSQR" => Formula::EuclideanNoSqr,
            "CUSTOM" => return Err(invalid("heuristicFormula CUSTOM needs a stored function, which Basalt lacks")),
            _ => {
                return Err(invalid(format!(
                    "unknown heuristicFormula '{s}'; expected MANHATAN, MAXAXIS, DIAGONAL, EUCLIDEAN or EUCLIDEANNOSQR"
                )))
            }
        },
        Some(other) => return Err(invalid(format!("heuristicFormula must be a string, not {}", show(other)))),
    };
    let names = |k: &str| o.get(k).map(|v| names_arg(v, k)).transpose().map(Option::unwrap_or_default);
    let max_depth = match o.get("maxDepth") {
        Some(Value::String(s)) => s.trim().parse().unwrap_or(i64::MAX),
        Some(v) => v.as_i64().unwrap_or(i64::MAX),
        None => i64::MAX,
    };
    Ok(Astar {
        weight: weight.to_string(),
        direction,
        labels: names("edgeTypeNames")?,
        axes: names("vertexAxisNames")?,
        max_depth,
        empty_if_max_depth: bool_or(o.get("emptyIfMaxDepth"), false),
        tie_breaker: bool_or(o.get("tieBreaker"), true),
        d_factor: number_or(o.get("dFactor"), 1.0),
        formula,
    })
}

/// `'x'` or `"x"` without its quotes.
fn strip_quotes(s: &str) -> &str {
    let quoted =
        s.len() >= 2 && ((s.starts_with('\'') && s.ends_with('\'')) || (s.starts_with('"') && s.ends_with('"')));
    if quoted {
        &s[1..s.len() - 1]
    } else {
        s
    }
}

/// A min-heap ordered by score that sifts exactly as `java.util.PriorityQueue` does, so that
/// equal scores leave in the same order as OrientDB's.
struct OpenSet {
    /// The heap array.
    heap: Vec<Rid>,
}

impl OpenSet {
    fn less(score: &HashMap<Rid, f64>, a: Rid, b: Rid) -> Ordering {
        let (x, y) = (score.get(&a).copied().unwrap_or(f64::MAX), score.get(&b).copied().unwrap_or(f64::MAX));
        x.total_cmp(&y)
    }

    fn offer(&mut self, score: &HashMap<Rid, f64>, r: Rid) {
        self.heap.push(r);
        self.sift_up(score, self.heap.len() - 1, r);
    }

    fn sift_up(&mut self, score: &HashMap<Rid, f64>, mut k: usize, x: Rid) {
        while k > 0 {
            let parent = (k - 1) / 2;
            let e = self.heap[parent];
            if Self::less(score, x, e) != Ordering::Less {
                break;
            }
            self.heap[k] = e;
            k = parent;
        }
        self.heap[k] = x;
    }

    fn sift_down(&mut self, score: &HashMap<Rid, f64>, mut k: usize, x: Rid) {
        let n = self.heap.len();
        let half = n / 2;
        while k < half {
            let mut child = 2 * k + 1;
            let right = child + 1;
            if right < n && Self::less(score, self.heap[child], self.heap[right]) == Ordering::Greater {
                child = right;
            }
            if Self::less(score, x, self.heap[child]) != Ordering::Greater {
                break;
            }
            self.heap[k] = self.heap[child];
            k = child;
        }
        self.heap[k] = x;
    }

    fn poll(&mut self, score: &HashMap<Rid, f64>) -> Option<Rid> {
        let last = self.heap.pop()?;
        if self.heap.is_empty() {
            return Some(last);
        }
        let top = self.heap[0];
        self.sift_down(score, 0, last);
        Some(top)
    }

    fn contains(&self, r: Rid) -> bool {
        self.heap.contains(&r)
    }

    /// `PriorityQueue.remove(Object)`: the last element fills the hole, sifted down, else up.
    fn remove(&mut self, score: &HashMap<Rid, f64>, r: Rid) {
        let Some(i) = self.heap.iter().position(|x| *x == r) else { return };
        let Some(moved) = self.heap.pop() else { return };
        if i == self.heap.len() {
            return;
        }
        self.sift_down(score, i, moved);
        if self.heap[i] == moved {
            self.sift_up(score, i, moved);
        }
    }
}

impl Astar {
    /// `OSQLFunctionAstar.internalExecute`.
    fn run(&self, env: &Env<'_>, start: Rid, goal: Rid) -> Res<Vec<Rid>> {
        let mut g: HashMap<Rid, f64> = HashMap::from([(start, 0.0)]);
        let mut f: HashMap<Rid, f64> = HashMap::new();
        let mut came_from: HashMap<Rid, Rid> = HashMap::new();
        let mut closed: HashSet<Rid> = HashSet::new();
        let mut open = OpenSet { heap: Vec::new() };
        f.insert(start, self.heuristic(env, start, None, start, goal)?);
        open.offer(&f, start);
        let mut depth: i64 = 0;
        let labels = label_refs(&self.labels);
        while let Some(current) = open.poll(&f) {
            env.tick()?;
            if self.empty_if_max_depth && depth >= self.max_depth {
                return Ok(Vec::new());
            }
            if current == goal || depth >= self.max_depth {
                let mut route = vec![current];
                let mut at = current;
                while let Some(prev) = came_from.get(&at) {
                    route.push(*prev);
                    at = *prev;
                }
                route.reverse();
                return Ok(route);
            }
            closed.insert(current);
            for (edge, neighbor) in env.neighbours(current, self.direction, &labels)? {
                if closed.contains(&neighbor) {
                    continue;
                }
                let tentative = g.get(&current).copied().unwrap_or(0.0) + self.edge_weight(env, edge)?;
                let contains = open.contains(neighbor);
                if !contains || g.get(&neighbor).is_some_and(|old| tentative < *old) {
                    g.insert(neighbor, tentative);
                    let h = self.heuristic(env, neighbor, Some(current), start, goal)?;
                    if contains {
                        open.remove(&f, neighbor);
                    }
                    f.insert(neighbor, tentative + h);
                    open.offer(&f, neighbor);
                    if open.heap.len() > MAX_COLLECTION_ITEMS {
                        return Err(too_many());
                    }
                    came_from.insert(neighbor, current);
                }
            }
            depth += 1;
        }
        Ok(Vec::new())
    }

    /// An edge's weight field as a number; missing or not a number: 0 (`getDistance(OEdge)`).
    fn edge_weight(&self, env: &Env<'_>, edge: Rid) -> Res<f64> {
        let Some(r) = env.load(edge)? else { return Ok(0.0) };
        let v = r.field(&self.weight).map_err(|e| super::eval::decode_error(edge, e))?;
        Ok(match v {
            Some(Value::String(_)) | None => 0.0,
            Some(v) => v.as_f64().unwrap_or(0.0),
        })
    }

    /// A vertex's axis values (`doubleOrDefault(..., 0)`).
    fn position(&self, env: &Env<'_>, rid: Rid) -> Res<Vec<f64>> {
        let record = env.load(rid)?;
        let mut out = Vec::with_capacity(self.axes.len());
        for axis in &self.axes {
            let v = match &record {
                Some(r) => r.field(axis).map_err(|e| super::eval::decode_error(rid, e))?,
                None => None,
            };
            out.push(number_or(v.as_ref(), 0.0));
        }
        Ok(out)
    }

    /// `OSQLFunctionAstar.getHeuristicCost`: 0 without axes, `|n - g| * dFactor` with one,
    /// the formula over two (plus the tie breaker, which reads the parent, not the node), and
    /// over more the formula of the source's position, as OrientDB fills its "current" list
    /// with the source's values.
    fn heuristic(&self, env: &Env<'_>, node: Rid, parent: Option<Rid>, start: Rid, goal: Rid) -> Res<f64> {
        let d = self.d_factor;
        match self.axes.len() {
            0 => Ok(0.0),
            1 => Ok(d * (self.position(env, node)?[0] - self.position(env, goal)?[0]).abs()),
            2 => {
                let (n, gl) = (self.position(env, node)?, self.position(env, goal)?);
                let (dx, dy) = ((n[0] - gl[0]).abs(), (n[1] - gl[1]).abs());
                let mut h = match self.formula {
                    Formula::Manhattan => d * (dx + dy),
                    Formula::MaxAxis => d * dx.max(dy),
                    Formula::Diagonal => {
                        let diagonal = dx.min(dy);
                        (d * 2.0) * diagonal + d * (dx + dy - 2.0 * diagonal)
                    }
                    Formula::Euclidean => d * (dx.powi(2) + dy.powi(2)).sqrt(),
                    Formula::EuclideanNoSqr => d * (dx.powi(2) + dy.powi(2)),
                };
                if self.tie_breaker {
                    let p = self.position(env, parent.unwrap_or(node))?;
                    let s = self.position(env, start)?;
                    let cross = ((p[0] - gl[0]) * (s[1] - gl[1]) - (s[0] - gl[0]) * (p[1] - gl[1])).abs();
                    h += cross * 0.0001;
                }
                Ok(h)
            }
            _ => {
                let (s, gl) = (self.position(env, start)?, self.position(env, goal)?);
                let diffs: Vec<f64> = s.iter().zip(&gl).map(|(c, g)| (c - g).abs()).collect();
                let mut h = match self.formula {
                    Formula::Manhattan => d * diffs.iter().sum::<f64>(),
                    Formula::MaxAxis => d * diffs.iter().fold(0.0, |m, x| x.max(m)),
                    // OrientDB's running minimum starts at 0, so the diagonal part is 0.
                    Formula::Diagonal => d * diffs.iter().sum::<f64>(),
                    Formula::Euclidean => diffs.iter().map(|x| x.powi(2)).sum::<f64>().sqrt(),
                    Formula::EuclideanNoSqr => d * diffs.iter().map(|x| x.powi(2)).sum::<f64>(),
                };
                if self.tie_breaker {
                    h += diffs.iter().sum::<f64>() * 0.0001;
                }
                Ok(h)
            }
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn quotes_are_stripped_from_the_weight_field() {
        assert_eq!(strip_quotes("'weight'"), "weight");
        assert_eq!(strip_quotes("\"w\""), "w");
        assert_eq!(strip_quotes("weight"), "weight");
        assert_eq!(strip_quotes("'"), "'");
    }

    #[test]
    fn the_open_set_pops_by_score_and_removes_anywhere() {
        let r = |p: i64| Rid::new(9, p);
        let score: HashMap<Rid, f64> = (0..6i64).map(|p| (r(p), [5.0, 1.0, 3.0, 1.0, 4.0, 2.0][p as usize])).collect();
        let mut open = OpenSet { heap: Vec::new() };
        for p in 0..6 {
            open.offer(&score, r(p));
        }
        open.remove(&score, r(2));
        assert!(!open.contains(r(2)));
        let order: Vec<i64> = std::iter::from_fn(|| open.poll(&score)).map(|x| x.position).collect();
        let scores: Vec<f64> = order.iter().map(|p| score[&r(*p)]).collect();
        assert_eq!(scores, vec![1.0, 1.0, 2.0, 4.0, 5.0]);
        assert_eq!(order.len(), 5);
    }
}
